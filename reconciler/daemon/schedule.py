"""Timing rules of the daemon loop: when the next cycles are due after each result (failure
backoff, the busy hold, drift and poll deadlines), and the watchdog's stall allowance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reconciler.apply.retry import exponential
from reconciler.daemon.triggers import Triggers
from reconciler.report.conditions import CycleResult
from reconciler.settings import Settings
from reconciler.sources.git import FETCH_TIMEOUT

BACKOFF_BASE = 5.0
BACKOFF_CAP = 600.0
BUSY_RETRY = 5.0
MANUAL = ("start", "webhook", "signal", "watch")

Cycle = Callable[[str], tuple[CycleResult, bool]]  # trigger -> (result, whether it was full)


def stall_allowance(settings: Settings) -> float:
    """How long a cycle may go without progress: the longest step the engine bounds, + 1 min."""
    if settings.daemon.stall_timeout:
        return float(settings.daemon.stall_timeout)
    steps = (
        settings.apply.task_timeout,
        settings.proxmox.timeout,
        settings.spark.timeout,
        FETCH_TIMEOUT,
    )
    return max(steps) + 60.0


def backoff(failures: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Delay after `failures` consecutive failed cycles: the shared exponential formula."""
    return exponential(failures, base, cap)


@dataclass
class Cadence:
    """Sets the trigger deadlines after each cycle; the loop's whole timing policy."""

    poll: float
    drift: float
    jitter: Callable[[float], float] = lambda seconds: seconds  # spreads polls of many daemons
    busy_retry: float = BUSY_RETRY
    failures: int = 0  # consecutive failed cycles

    def start(self, triggers: Triggers, now: float) -> None:
        triggers.next_poll = now + self.jitter(self.poll)
        triggers.next_drift = now + self.drift
        triggers.request("start")

    def after(
        self, triggers: Triggers, trigger: str, result: CycleResult, full: bool, now: float
    ) -> None:
        if result is CycleResult.BUSY:  # not a failure: the same trigger runs once the lock frees
            triggers.busy(trigger, now, self.busy_retry)
            return
        self.failures = self.failures + 1 if result is CycleResult.FAILED else 0
        triggers.next_poll = now + (
            backoff(self.failures) if self.failures else self.jitter(self.poll)
        )
        if trigger == "drift" or full:
            triggers.next_drift = now + self.drift
        if self.failures:
            triggers.next_drift = max(triggers.next_drift, triggers.next_poll)


def drive(
    triggers: Triggers,
    cadence: Cadence,
    cycle: Cycle,
    clock: Callable[[], float],
    waiting: Callable[[float], None] = lambda at: None,
) -> None:
    """The loop: wait for the next trigger, run its cycle, reschedule; until stop()."""
    while True:
        waiting(triggers.next_at)
        trigger = triggers.next()
        if trigger is None:
            return
        result, full = cycle(trigger)
        cadence.after(triggers, trigger, result, full, clock())
