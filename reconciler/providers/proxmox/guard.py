"""Retry with backoff for one PVE call, and the digest ledger for plan preconditions.

The ledger exists because one plan carries several lines for the same CT
(update, resize, restart) that all hold the digest read at plan time. After
our own write the digest changes; the next line must still run, while a
change by anyone else must stop it (PreconditionFailed, re-plan).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import structlog

from reconciler.apply.errors import TransientError
from reconciler.providers.proxmox.errors import PvePreconditionFailed

log = structlog.get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: base * 2**attempt * U(0.5, 1), capped."""

    retries: int = 4
    base: float = 1.0
    cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep

    def run(self, what: str, call: Callable[[], T]) -> T:
        """Run `call`, retrying TransientError up to `retries` times; other errors pass."""
        attempt = 0
        while True:
            try:
                return call()
            except TransientError as exc:
                if attempt >= self.retries:
                    raise
                delay = min(self.cap, max(self.base, exc.delay * self.base) * 2**attempt)
                delay *= 0.5 + random.random() / 2  # noqa: S311 - jitter, not crypto
                attempt += 1
                log.warning(
                    "apply.retry", what=what, attempt=attempt, delay=round(delay, 3), error=str(exc)
                )
                self.sleep(delay)


@dataclass
class DigestLedger:
    """Per VMID: plan-time digests our own writes have superseded, and the digest after them."""

    _seen: dict[int, tuple[frozenset[str], str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, vmid: int, expected: object, current: str) -> None:
        """Raise PreconditionFailed unless `current` is `expected` or only we changed it since."""
        if expected is None or expected == current:
            return
        with self._lock:
            superseded, head = self._seen.get(vmid, (frozenset(), ""))
        if expected in superseded and current == head:
            return
        raise PvePreconditionFailed(
            f"CT {vmid} changed since the plan was made (digest {str(expected)[:12]} is now "
            f"{current[:12]}); re-plan instead of overwriting"
        )

    def record(self, vmid: int, before: tuple[object, ...], after: str) -> None:
        """After our own write: digests in `before` now lead to `after`."""
        with self._lock:
            superseded, _ = self._seen.get(vmid, (frozenset(), ""))
            self._seen[vmid] = (superseded | {str(d) for d in before if d}, after)
