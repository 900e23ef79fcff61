"""Crash-safe CT creation: POST with the pending tag, await, clear the tag, start; adopt leftovers.

A create POST is not idempotent, so it is never retried blind: after any
failure whose outcome is unknown we look for the CT first. A CT carrying
both OWNER_TAG and CREATE_PENDING_TAG is our own half-finished create and is
adopted; anything else under that VMID is a conflict.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from reconciler.apply.errors import PermanentError
from reconciler.apply.retry import ONCE, RetryPolicy
from reconciler.model.containers import (
    CREATE_PENDING_TAG,
    ContainerSpec,
    GuestSummary,
    PowerState,
)
from reconciler.providers.proxmox.client import PveClient
from reconciler.providers.proxmox.encode import encode_create, encode_tags
from reconciler.providers.proxmox.errors import PveTransientError, is_already_exists
from reconciler.providers.proxmox.reader import ProxmoxReader
from reconciler.providers.proxmox.tasks import TaskWaiter

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Created:
    node: str
    adopted: bool
    started: bool


@dataclass(frozen=True)
class Creator:
    client: PveClient
    waiter: TaskWaiter
    retry: RetryPolicy
    lock_timeout: float = 600.0
    poll: float = 0.2
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def create(self, spec: ContainerSpec, node: str) -> Created:
        params = encode_create(spec, node)
        tried = False
        adopted_row: GuestSummary | None = None

        def once() -> GuestSummary | None:
            nonlocal tried
            if tried:  # the previous POST may have reached PVE: look before posting again
                found = self._adoptable(spec)
                if found is not None:
                    return found
            tried = True
            try:
                upid = self.client.post(f"nodes/{node}/lxc", **params)
            except PermanentError as exc:
                if not is_already_exists(exc):
                    raise
                found = self._adoptable(spec)
                if found is None:
                    raise PveTransientError(f"CT {spec.vmid} existed, then vanished") from exc
                return found
            self.waiter.wait(str(upid))
            return None

        adopted_row = self.retry.call(f"create CT {spec.vmid}", once)
        where = adopted_row.node if adopted_row is not None else node
        if adopted_row is not None:
            log.info("apply.adopt", vmid=spec.vmid, node=where)
        tags = encode_tags(spec.settings.tags)
        path = f"nodes/{where}/lxc/{spec.vmid}"
        self.retry.call("clear pending tag", lambda: self.client.put(f"{path}/config", tags=tags))
        started = False
        if spec.state == PowerState.RUNNING:
            running = adopted_row is not None and self._status(path) == "running"
            if not running:
                self.retry.call("start", lambda: self._start(path))
                started = True
        return Created(where, adopted_row is not None, started)

    def _start(self, path: str) -> None:
        try:
            upid = self.client.post(f"{path}/status/start")
        except PermanentError as exc:
            if "already running" in str(exc):
                return
            raise
        self.waiter.wait(str(upid))

    def _status(self, path: str) -> str:
        current = self.client.get(f"{path}/status/current")
        return str(current.get("status", "")) if isinstance(current, dict) else ""

    def _adoptable(self, spec: ContainerSpec) -> GuestSummary | None:
        """The CT under spec.vmid if it is our own half-created one; None if there is none."""
        row = self._guest(spec.vmid)
        deadline = self.clock() + self.lock_timeout
        # While PVE's create task runs the config holds only `lock: create` (tags come at
        # the end), so ownership can only be judged once the lock is gone.
        while row is not None and row.kind == "lxc" and row.lock == "create":
            if self.clock() > deadline:
                raise PermanentError(f"CT {spec.vmid} stays locked (create); next cycle")
            self.sleep(self.poll)
            row = self._guest(spec.vmid)
        if row is None:
            return None  # none, or the create task failed and PVE removed the CT
        if row.kind != "lxc" or not row.owned or CREATE_PENDING_TAG not in row.tags:
            raise PermanentError(
                f"vmid {spec.vmid} is taken by {row.kind} {row.name!r} on {row.node}, "
                "which this reconciler did not create; not adopting it"
            )
        return row

    def _guest(self, vmid: int) -> GuestSummary | None:
        # retry=ONCE: this read runs inside self.retry already; one layer retries a call
        for guest in ProxmoxReader(self.client, retry=ONCE).guests():
            if guest.vmid == vmid:
                return guest
        return None
