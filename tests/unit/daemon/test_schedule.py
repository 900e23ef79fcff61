"""The daemon's scheduling scenarios on a fake clock: busy lock, drift timer, failure backoff,
webhook coalescing. The real Triggers and Cadence run; only time is simulated, so every
assertion is exact and nothing waits on the wall clock."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

import pytest

from reconciler.daemon.schedule import BUSY_RETRY, Cadence, backoff, drive
from reconciler.daemon.triggers import Triggers
from reconciler.report.conditions import CycleResult

START = 1_000_000.0
OK, FAILED, BUSY, IDLE = CycleResult.SUCCESS, CycleResult.FAILED, CycleResult.BUSY, CycleResult.IDLE
Script = Callable[[str, float], CycleResult]  # (trigger, seconds since start) -> result


class FakeClock:
    """Wall time that moves only when waited on; events (pushes) fire at their time."""

    def __init__(self) -> None:
        self.now = START
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    def at(self, offset: float, event: Callable[[], None]) -> None:
        heapq.heappush(self._events, (START + offset, next(self._order), event))

    def wait(self, seconds: float) -> None:
        """An idle wait: returns early when an event (a request) fires, like the Condition."""
        until = self.now + seconds
        if self._events and self._events[0][0] <= until:
            self.now = max(self.now, self._events[0][0])
            while self._events and self._events[0][0] <= self.now:
                heapq.heappop(self._events)[2]()
        else:
            self.now = until

    def advance(self, seconds: float) -> None:
        """Time spent inside a cycle: every event due meanwhile fires."""
        until = self.now + seconds
        while self._events and self._events[0][0] <= until:
            self.now = max(self.now, self._events[0][0])
            heapq.heappop(self._events)[2]()
        self.now = until


class Loop:
    """Triggers + Cadence + drive, as Daemon.run wires them, with a scripted cycle."""

    def __init__(self, poll: float = 60.0, drift: float = 300.0) -> None:
        self.clock = FakeClock()
        self.triggers = Triggers(
            0.0, 0.0, 30.0, lambda: None, clock=self.clock, wait=self.clock.wait
        )
        self.cadence = Cadence(poll, drift)
        self.ran: list[tuple[float, str, CycleResult]] = []

    def run(
        self, script: Script, until: float, seconds: float = 0.0, full: tuple[str, ...] = ()
    ) -> list[tuple[float, str, CycleResult]]:
        def cycle(trigger: str) -> tuple[CycleResult, bool]:
            offset = round(self.clock.now - START, 3)
            if offset > until:
                self.triggers.stop()
                return IDLE, False
            result = script(trigger, offset)
            self.ran.append((offset, trigger, result))
            self.clock.advance(seconds)
            is_full = result is not BUSY and (trigger in full or trigger == "start")
            return result, is_full

        self.cadence.start(self.triggers, self.clock())
        drive(self.triggers, self.cadence, cycle, self.clock)
        return self.ran


def test_a_busy_lock_reruns_the_same_trigger_every_busy_retry_without_spinning() -> None:
    """A CLI apply holds the lock for the first 12 s; the drift timer (8 s) falls due meanwhile."""
    loop = Loop(poll=3600, drift=8)
    ran = loop.run(lambda trigger, t: BUSY if t < 12 else OK, until=30)
    assert ran[:5] == [
        (0.0, "start", BUSY),
        (BUSY_RETRY, "start", BUSY),  # held, re-queued, not lost
        (2 * BUSY_RETRY, "start", BUSY),  # the due drift waits behind it, no extra cycle
        (3 * BUSY_RETRY, "start", OK),  # the lock is free: the very trigger that was busy runs
        (3 * BUSY_RETRY + 8, "drift", OK),  # drift counts from the full cycle
    ]


def test_a_busy_drift_cycle_runs_as_drift_once_the_lock_frees() -> None:
    loop = Loop(poll=3600, drift=10)
    ran = loop.run(lambda trigger, t: BUSY if 10 <= t < 17 else OK, until=40)
    assert ran == [
        (0.0, "start", OK),
        (10.0, "drift", BUSY),
        (15.0, "drift", BUSY),
        (20.0, "drift", OK),
        (30.0, "drift", OK),
        (40.0, "drift", OK),
    ]


def test_the_drift_timer_fires_on_its_interval_between_polls_and_a_full_cycle_resets_it() -> None:
    loop = Loop(poll=60, drift=300)
    loop.clock.at(400, lambda: loop.triggers.request("webhook"))
    ran = loop.run(lambda trigger, t: OK, until=800, full=("webhook",))
    drift = [t for t, trigger, _ in ran if trigger == "drift"]
    assert drift == [300.0, 700.0]  # 400 + 300: the webhook's full cycle moved it
    polls = [t for t, trigger, _ in ran if trigger == "poll"]
    assert polls[:6] == [60.0, 120.0, 180.0, 240.0, 300.0, 360.0]  # drift does not shift polls
    assert (400.0, "webhook", OK) in ran


def test_failures_back_off_exponentially_and_success_resumes_the_poll_interval() -> None:
    loop = Loop(poll=60, drift=300)
    ran = loop.run(lambda trigger, t: FAILED if t < 70 else OK, until=250)
    times = [t for t, _, _ in ran]
    assert times[:7] == [0.0, 5.0, 15.0, 35.0, 75.0, 135.0, 195.0]  # +5 +10 +20 +40, then 60s
    assert [r for _, _, r in ran[:5]] == [FAILED] * 4 + [OK]
    assert loop.cadence.failures == 0
    assert [backoff(n) for n in (1, 2, 3, 8, 9, 50)] == [5.0, 10.0, 20.0, 600.0, 600.0, 600.0]


def test_a_failing_daemon_never_runs_drift_before_its_backoff() -> None:
    loop = Loop(poll=3600, drift=10)
    ran = loop.run(lambda trigger, t: FAILED, until=200)
    times = [t for t, _, _ in ran]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == [5.0, 10.0, 20.0, 40.0, 80.0]  # the 10 s drift timer waits for the backoff


def test_a_burst_of_pushes_while_idle_makes_one_cycle() -> None:
    loop = Loop(poll=3600, drift=3600)
    for offset in (100, 100, 100):
        loop.clock.at(offset, lambda: loop.triggers.request("webhook"))
    ran = loop.run(lambda trigger, t: OK, until=200)
    assert [(t, trigger) for t, trigger, _ in ran] == [(0.0, "start"), (100.0, "webhook")]


def test_pushes_during_a_cycle_coalesce_into_one_follow_up_cycle() -> None:
    loop = Loop(poll=3600, drift=3600)
    for offset in (1, 2, 3, 4):  # while the 10 s start cycle runs
        loop.clock.at(offset, lambda: loop.triggers.request("webhook"))
    ran = loop.run(lambda trigger, t: OK, until=100, seconds=10)
    assert [(t, trigger) for t, trigger, _ in ran] == [(0.0, "start"), (10.0, "webhook")]


def test_a_push_while_the_lock_is_busy_waits_for_the_hold_and_runs_once() -> None:
    loop = Loop(poll=3600, drift=3600)
    loop.clock.at(50, lambda: loop.triggers.request("webhook"))
    loop.clock.at(51, lambda: loop.triggers.request("webhook"))
    ran = loop.run(lambda trigger, t: BUSY if 50 <= t < 53 else OK, until=100)
    assert [(t, trigger, r) for t, trigger, r in ran] == [
        (0.0, "start", OK),
        (50.0, "webhook", BUSY),
        (55.0, "webhook", OK),  # the push at 51 joined the held one: one cycle, not two
    ]


@pytest.mark.parametrize("stop_at", [0.0, 42.0])
def test_stop_ends_the_loop_at_once(stop_at: float) -> None:
    loop = Loop(poll=10, drift=3600)
    loop.clock.at(stop_at + 0.5, loop.triggers.stop)
    ran = loop.run(lambda trigger, t: OK, until=10_000)
    assert all(t <= stop_at + 0.5 for t, _, _ in ran)
    assert loop.triggers.next() is None


def test_triggers_hold_after_busy_then_rerun_the_same_trigger() -> None:
    clock = FakeClock()
    timers = Triggers(START + 3600, START - 1, 0.05, lambda: None, clock=clock, wait=clock.wait)
    assert timers.next() == "drift"
    timers.busy("drift", clock(), retry=0.3)
    timers.request("webhook")  # a push while the lock is held waits too
    assert timers.next_at == START + 0.3
    assert timers.next() == "webhook" and clock() == pytest.approx(START + 0.3)
    timers.busy("webhook", clock(), retry=0.2)
    assert timers.next() == "webhook"  # re-queued, not lost
    assert clock() == pytest.approx(START + 0.5)
    assert timers.next() == "drift"  # the drift deadline moved, it did not vanish
    timers.stop()
    assert timers.next() is None
