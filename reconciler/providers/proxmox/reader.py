"""Read-only PVE calls for containers: one inventory call, then one read per CT, in parallel.

Call budget per plan: 1 + (CTs read). Each CT is read with GET .../pending,
which carries the current value, the pending value and the pending delete
of every key *and* the `digest` row (PVE's vm_pending lists every scalar key
of the loaded config, digest included). From that one answer we build the
view with pending values applied (what GET /config shows), the set of keys
waiting for a restart, and the digest for optimistic concurrency. Only a
server whose /pending lacks the digest row costs a second call (GET /config).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import structlog

from reconciler.apply.retry import RetryPolicy
from reconciler.model.containers import GuestSummary, ObservedContainer
from reconciler.providers.proxmox.decode import parse_guest, parse_observed, parse_pending
from reconciler.providers.proxmox.errors import is_missing

log = structlog.get_logger(__name__)

READ_ATTEMPTS = 3
READ_SCALE = 0.2  # reads wait a fifth of what the error suggests (0.2 s for most), doubling


class Caller(Protocol):
    def get(self, path: str, **params: object) -> Any: ...


class ProxmoxReader:
    """Container reads against one PVE cluster."""

    def __init__(
        self,
        client: Caller,
        parallel_reads: int = 8,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._parallel = max(1, parallel_reads)
        self._retry = retry or RetryPolicy(attempts=READ_ATTEMPTS, scale=READ_SCALE, sleep=sleep)

    def guests(self) -> tuple[GuestSummary, ...]:
        """The one inventory call: `GET /cluster/resources?type=vm` (qemu and lxc rows)."""
        rows = self._get("cluster/resources", type="vm")
        guests = (parse_guest(row) for row in rows or () if row.get("vmid") is not None)
        return tuple(sorted(guests, key=lambda guest: guest.vmid))

    def container(self, guest: GuestSummary) -> ObservedContainer | None:
        """One CT on the node the inventory row names; None if it vanished meanwhile."""
        base = f"nodes/{guest.node}/lxc/{guest.vmid}"
        try:
            rows = self._get(f"{base}/pending")
            applied, pending, digest = parse_pending(rows or ())
            if digest is None:  # server without PVE's digest row: ask /config for it
                config = self._get(f"{base}/config")
                digest = str(config.get("digest", ""))
        except Exception as exc:
            if is_missing(exc):
                log.info("pve.ct_vanished", vmid=guest.vmid, node=guest.node)
                return None
            raise
        return parse_observed(
            applied,
            vmid=guest.vmid,
            node=guest.node,
            status=guest.status,
            pending_keys=pending,
            digest=digest,
        )

    def containers(self, guests: Iterable[GuestSummary]) -> dict[int, ObservedContainer]:
        """Read CTs in parallel, at most `parallel_reads` at a time."""
        targets = list(guests)
        if not targets:
            return {}
        workers = min(self._parallel, len(targets))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pve-read") as pool:
            results = list(pool.map(self.container, targets))
        return {item.vmid: item for item in results if item is not None}

    def _get(self, path: str, **params: object) -> Any:
        """Reads are idempotent: the reader owns their retry."""
        return self._retry.call(f"GET {path}", lambda: self._client.get(path, **params))
