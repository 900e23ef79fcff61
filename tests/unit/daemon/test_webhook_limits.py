"""The webhook's token bucket and replay memory, with an injected clock (no sleeping)."""

from __future__ import annotations

import pytest

from reconciler.daemon.webhook import RateLimit, Seen


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_the_rate_then_one_token_per_interval() -> None:
    clock = Clock()
    limit = RateLimit(6, clock)  # 6 a minute: a burst of 6, then one every 10 s
    assert [limit.wait("a") for _ in range(6)] == [0.0] * 6
    assert limit.wait("a") == pytest.approx(10.0)
    clock.now = 4.0
    assert limit.wait("a") == pytest.approx(6.0)  # a refused request spends nothing
    assert limit.wait("b") == 0.0  # per source
    clock.now = 10.0
    assert limit.wait("a") == 0.0
    assert limit.wait("a") == pytest.approx(10.0)
    clock.now = 1000.0  # idle for long: the bucket is full again, never fuller
    assert [limit.wait("a") for _ in range(7)][-2:] == [0.0, pytest.approx(10.0)]


def test_sources_are_bounded_and_the_longest_idle_forgotten() -> None:
    clock = Clock()
    limit = RateLimit(1, clock, sources=2)
    assert limit.wait("a") == 0.0 and limit.wait("b") == 0.0
    assert limit.wait("c") == 0.0  # "a" is forgotten: the map never grows past 2
    assert limit.wait("b") > 0 and limit.wait("a") == 0.0


def test_the_rate_has_a_minimum() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RateLimit(0)


def test_seen_keys_are_remembered_together_and_bounded() -> None:
    seen = Seen(size=3)
    assert seen.first_time("body:1", "push:x") is True
    assert seen.first_time("body:2", "push:x") is False  # the same push, another body
    assert seen.first_time("body:2") is False  # remembered although it was refused
    for n in range(3, 6):
        assert seen.first_time(f"body:{n}") is True
    assert seen.first_time("body:1") is True  # evicted: the memory holds the last 3
