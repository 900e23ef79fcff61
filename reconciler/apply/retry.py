"""The one retry policy: capped exponential backoff with jitter, sleep and randomness injected.

Every layer that retries uses it, and any given call is retried by exactly one layer:
providers retry their own API calls (they know what is idempotent and re-check state
between attempts), readers retry their reads, the daemon backs off failed cycles.
The executor retries nothing: a TransientError reaching it means the owner gave up.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

import structlog

from reconciler.apply.errors import TransientError

log = structlog.get_logger(__name__)

T = TypeVar("T")
Progress = Callable[[TransientError], None]

# Who hears of a retry in this context: the executor sets it around each change, so a
# retry deep inside a provider is progress (the daemon's watchdog, the CLI's lines).
_progress: ContextVar[Progress | None] = ContextVar("retry_progress", default=None)


@contextmanager
def reporting(progress: Progress) -> Iterator[None]:
    """Within the block, every retry of any RetryPolicy calls `progress(error)` first."""
    token = _progress.set(progress)
    try:
        yield
    finally:
        _progress.reset(token)


def exponential(step: int, base: float, cap: float) -> float:
    """base, 2*base, 4*base ... for step 1, 2, 3 ...; 0 for step 0; never above cap."""
    if step <= 0:
        return 0.0
    return float(min(cap, base * 2 ** min(step - 1, 62)))


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` tries in all; before retry n waits exponential(n) * U(1 - jitter, 1)."""

    attempts: int = 5
    base: float = 1.0  # first delay when the error suggests none (TransientError.delay does)
    cap: float = 30.0
    jitter: float = 0.5  # so parallel retries do not align
    scale: float = 1.0  # multiplies every delay (tests shrink time with it)
    sleep: Callable[[float], None] = time.sleep
    uniform: Callable[[], float] = random.random  # U(0, 1); not crypto

    def delay(self, retry: int, hint: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (1 = the first re-try)."""
        first = self.base if hint is None else hint
        raw = exponential(retry, first * self.scale, self.cap)
        return raw * (1.0 - self.jitter * self.uniform())

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run `fn`, retrying TransientError; the last one, and every other error, passes."""
        attempt = 1
        while True:
            try:
                return fn()
            except TransientError as exc:
                if attempt >= self.attempts:
                    raise
                delay = self.delay(attempt, exc.delay)
                log.warning(
                    "retry", what=what, attempt=attempt, delay=round(delay, 3), error=str(exc)
                )
                attempt += 1
                progress = _progress.get()
                if progress is not None:
                    progress(exc)
                self.sleep(delay)


ONCE = RetryPolicy(attempts=1)  # for a call whose caller already retries
