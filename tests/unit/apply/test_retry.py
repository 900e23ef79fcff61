"""The one retry policy: attempts, the exponential delays and their cap, jitter, what passes."""

from __future__ import annotations

import pytest

from reconciler.apply.errors import PermanentError, TransientError
from reconciler.apply.retry import ONCE, RetryPolicy, exponential


class Flaky:
    """A call that fails transiently `failures` times, then answers."""

    def __init__(self, failures: int, delay: float = 1.0) -> None:
        self.failures = failures
        self.delay = delay
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise TransientError(f"locked ({self.calls})", delay=self.delay)
        return "ok"


def test_exponential_doubles_from_base_and_stops_at_the_cap() -> None:
    assert [exponential(n, 5.0, 600.0) for n in range(9)] == [
        0.0,
        5.0,
        10.0,
        20.0,
        40.0,
        80.0,
        160.0,
        320.0,
        600.0,
    ]
    assert exponential(10_000, 1.0, 30.0) == 30.0  # no overflow on a long outage


def test_retries_until_success_sleeping_the_errors_hint_doubled() -> None:
    slept: list[float] = []
    policy = RetryPolicy(attempts=5, cap=30.0, sleep=slept.append, uniform=lambda: 0.0)
    call = Flaky(3, delay=2.0)
    assert policy.call("update CT 101", call) == "ok"
    assert call.calls == 4 and slept == [2.0, 4.0, 8.0]


def test_gives_up_after_attempts_with_the_last_error() -> None:
    slept: list[float] = []
    policy = RetryPolicy(attempts=3, sleep=slept.append, uniform=lambda: 0.0)
    call = Flaky(10)
    with pytest.raises(TransientError, match=r"locked \(3\)"):
        policy.call("x", call)
    assert call.calls == 3 and len(slept) == 2


def test_jitter_and_scale_shrink_the_delay_within_bounds() -> None:
    policy = RetryPolicy(base=1.0, cap=30.0, jitter=0.5, scale=0.2, uniform=lambda: 1.0)
    assert policy.delay(1) == pytest.approx(0.1)  # 0.2 * (1 - 0.5)
    assert policy.delay(3, hint=2.0) == pytest.approx(0.8)  # 2 * 0.2 * 4 * 0.5
    capped = RetryPolicy(cap=30.0, jitter=0.0)
    assert capped.delay(20, hint=5.0) == 30.0


def test_other_errors_pass_at_once_and_once_never_retries() -> None:
    slept: list[float] = []

    def refused() -> None:
        raise PermanentError("unable to shrink disk size")

    with pytest.raises(PermanentError):
        RetryPolicy(sleep=slept.append).call("resize", refused)
    call = Flaky(1)
    with pytest.raises(TransientError):
        ONCE.call("read", call)
    assert slept == [] and call.calls == 1
