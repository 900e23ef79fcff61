"""Crash-safe CT creation: POST with the pending tag, await, clear the tag, start; adopt leftovers.

A create POST is not idempotent, so it is never retried blind: after any
failure whose outcome is unknown we look for the CT first. A CT carrying
both OWNER_TAG and CREATE_PENDING_TAG is our own half-finished create and is
adopted; one with OWNER_TAG alone was created by another run (another state
directory) and is ours too (concurrent.py); anything else under that VMID is a conflict.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from reconciler.apply.errors import PermanentError
from reconciler.apply.retry import ONCE, RetryPolicy
from reconciler.model.containers import GuestSummary
from reconciler.plan.container_ops import Create
from reconciler.providers.proxmox.client import PveClient
from reconciler.providers.proxmox.concurrent import (
    ALREADY_RUNNING,
    created_elsewhere,
    not_ours,
    ours,
    power,
)
from reconciler.providers.proxmox.errors import PveTransientError, is_already_exists
from reconciler.providers.proxmox.reader import ProxmoxReader
from reconciler.providers.proxmox.tasks import TaskWaiter

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Created:
    node: str
    adopted: bool
    started: bool
    elsewhere: bool = False  # found finished by another run, not created by this one


@dataclass(frozen=True)
class Creator:
    client: PveClient
    waiter: TaskWaiter
    retry: RetryPolicy
    lock_timeout: float = 600.0
    poll: float = 0.2
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def create(self, op: Create, node: str) -> Created:
        """POST `op.params` (never blind twice), clear the pending tag, start if asked."""
        params = dict(op.params)
        vmid = op.vmid
        tried = False
        adopted_row: GuestSummary | None = None

        def once() -> GuestSummary | None:
            nonlocal tried
            if tried:  # the previous POST may have reached PVE: look before posting again
                found = self._adoptable(vmid)
                if found is not None:
                    return found
            tried = True
            try:
                upid = self.client.post(f"nodes/{node}/lxc", **params)
            except PermanentError as exc:
                if not is_already_exists(exc):
                    raise
                found = self._adoptable(vmid)
                if found is None:
                    raise PveTransientError(f"CT {vmid} existed, then vanished") from exc
                return found
            self.waiter.wait(str(upid))
            return None

        adopted_row = self.retry.call(f"create CT {vmid}", once)
        where = adopted_row.node if adopted_row is not None else node
        elsewhere = adopted_row is not None and created_elsewhere(adopted_row)
        if adopted_row is not None:
            log.info("apply.adopt", vmid=vmid, node=where, created_elsewhere=elsewhere)
        tags = op.tags
        path = f"nodes/{where}/lxc/{vmid}"
        if not elsewhere:  # the other run cleared it: a write would only move the digest
            self.retry.call(
                "clear pending tag", lambda: self.client.put(f"{path}/config", tags=tags)
            )
        started = False
        if op.start:
            running = adopted_row is not None and self._status(path) == "running"
            if not running:  # another run may start it first: then it is not ours to claim
                started = not self.retry.call("start", lambda: self._start(path))
        return Created(where, adopted_row is not None, started, elsewhere)

    def _start(self, path: str) -> bool:
        """True when PVE answered `already running`, from the POST or from its task."""
        return power(self.client, self.waiter, f"{path}/status/start", ALREADY_RUNNING)

    def _status(self, path: str) -> str:
        current = self.client.get(f"{path}/status/current")
        return str(current.get("status", "")) if isinstance(current, dict) else ""

    def _adoptable(self, vmid: int) -> GuestSummary | None:
        """The CT under vmid if it carries our tag (half-created, or created by another run);
        None if there is none."""
        row = self._guest(vmid)
        deadline = self.clock() + self.lock_timeout
        # While PVE's create task runs the config holds only `lock: create` (tags come at
        # the end), so ownership can only be judged once the lock is gone.
        while row is not None and row.kind == "lxc" and row.lock == "create":
            if self.clock() > deadline:
                raise PermanentError(f"CT {vmid} stays locked (create); next cycle")
            self.sleep(self.poll)
            row = self._guest(vmid)
        if row is None:
            return None  # none, or the create task failed and PVE removed the CT
        if not ours(row):
            raise PermanentError(not_ours(row))
        return row

    def _guest(self, vmid: int) -> GuestSummary | None:
        # retry=ONCE: this read runs inside self.retry already; one layer retries a call
        for guest in ProxmoxReader(self.client, retry=ONCE).guests():
            if guest.vmid == vmid:
                return guest
        return None
