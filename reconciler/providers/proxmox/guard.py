"""The digest ledger for plan preconditions (retries: apply.retry.RetryPolicy).

The ledger exists because one plan carries several lines for the same CT
(update, resize, restart) that all hold the digest read at plan time. After
our own write the digest changes; the next line must still run, while a
change by anyone else must stop it (PreconditionFailed, re-plan).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from reconciler.providers.proxmox.errors import PvePreconditionFailed


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
