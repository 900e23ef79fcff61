"""The daemon's trigger queue and timers: requests, poll and drift deadlines, the busy hold."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

TIMERS = ("poll", "drift")  # triggers the deadlines re-fire by themselves


class Triggers:
    """What runs next. Thread-safe: webhook, watcher and signal handlers call request().

    `clock` is wall time (deadlines are shown as timestamps); `wait(seconds)` blocks at
    most that long or until request()/stop() wakes it. Tests pass a fake clock whose
    wait moves time on.
    """

    def __init__(
        self,
        next_poll: float,
        next_drift: float,
        tick: float,
        idle: Callable[[], None],
        *,
        clock: Callable[[], float] = time.time,
        wait: Callable[[float], object] | None = None,
    ) -> None:
        self.next_poll = next_poll
        self.next_drift = next_drift
        self._tick = tick
        self._idle = idle  # called on every idle wake-up (the watchdog heartbeat)
        self._wake = threading.Condition()  # an RLock inside: safe from signal handlers
        self._clock = clock
        self._wait = wait or self._wake.wait  # called holding the condition
        self._requests: list[str] = []
        self._hold_until = 0.0  # nothing runs before this (the lock was busy)
        self._stop = threading.Event()

    def request(self, trigger: str) -> None:
        with self._wake:
            self._requests.append(trigger)
            self._wake.notify_all()

    def stop(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def next_at(self) -> float:
        """When the next cycle is due at the latest (for status and metrics)."""
        with self._wake:
            return self._due(self._clock())

    def _due(self, now: float) -> float:
        """The next deadline; a queued request is due as soon as the busy hold ends."""
        due = min(self.next_poll, self.next_drift)
        if self._requests:
            due = min(due, now)
        return max(due, self._hold_until)

    def next(self) -> str | None:
        """Block until a trigger is due; None once stop() was called."""
        with self._wake:
            while not self._stop.is_set():
                now = self._clock()
                if now >= self._hold_until:
                    if self._requests:
                        trigger = self._requests[0]
                        self._requests.clear()  # a burst of pushes needs one cycle
                        return trigger
                    if now >= self.next_poll:
                        return "poll"
                    if now >= self.next_drift:
                        return "drift"
                self._idle()
                due = self._due(now)
                self._wait(max(0.0, min(due - now, self._tick)))
        return None

    def busy(self, trigger: str, now: float, retry: float) -> None:
        """Another process holds the cycle lock: wait `retry`, then run `trigger` again.

        Every deadline already due moves to the retry time too, or the loop would spin
        on it; a requested trigger goes back to the front of the queue, not lost.
        """
        until = now + retry
        with self._wake:
            self._hold_until = until
            self.next_poll = max(self.next_poll, until)
            self.next_drift = max(self.next_drift, until)
            if trigger not in TIMERS:
                self._requests.insert(0, trigger)
