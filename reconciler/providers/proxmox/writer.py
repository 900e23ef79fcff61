"""ProxmoxApplier: executes `container/*` plan lines as PVE calls; decides nothing itself.

Every config write carries the digest just read, after checking it against
the plan's precondition (see guard.DigestLedger). Tasks are awaited with our
own poller. This applier owns the retry of its PVE calls (the executor retries
nothing): each call is retried with the shared RetryPolicy, and a retry first
checks whether the previous attempt already took effect.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from reconciler.apply.errors import PermanentError, TransientError
from reconciler.apply.retry import RetryPolicy
from reconciler.model.containers import OWNER_TAG, ContainerSpec, ObservedContainer
from reconciler.plan.change import Action, Change, is_adoption
from reconciler.providers.proxmox.adopt import Adopter
from reconciler.providers.proxmox.client import PveClient
from reconciler.providers.proxmox.codec import encode_update, parse_observed
from reconciler.providers.proxmox.create import Creator
from reconciler.providers.proxmox.errors import PvePermanentError, is_missing
from reconciler.providers.proxmox.fieldpaths import (
    disk_for_path,
    disk_size,
    scope_violation,
    wanted_size,
)
from reconciler.providers.proxmox.guard import DigestLedger
from reconciler.providers.proxmox.propstring import CodecError, format_disk_size
from reconciler.providers.proxmox.tasks import TaskWaiter
from reconciler.report.outcome import Outcome, Status
from reconciler.settings import ApplySettings

log = structlog.get_logger(__name__)

_HANDLED = frozenset(
    {
        Action.CREATE,
        Action.UPDATE,
        Action.RESTART,
        Action.RESIZE,
        Action.START,
        Action.STOP,
        Action.DELETE,
    }
)
SHUTDOWN_TIMEOUT = 60


class ProxmoxApplier:
    """Applier for `container/<name>` lines, built with the desired specs by address."""

    def __init__(
        self,
        client: PveClient,
        specs: Mapping[str, ContainerSpec],
        settings: ApplySettings | None = None,
        *,
        backoff_base: float = 1.0,
        poll_interval: float = 0.1,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        settings = settings or ApplySettings()
        self._client = client
        self._specs = dict(specs)
        self._waiter = TaskWaiter(
            client, timeout=settings.task_timeout, first_interval=poll_interval, sleep=sleep
        )
        self._retry = RetryPolicy(attempts=settings.retries + 1, scale=backoff_base, sleep=sleep)
        self._creator = Creator(
            client,
            self._waiter,
            self._retry,
            lock_timeout=settings.task_timeout,
            poll=poll_interval,
            sleep=sleep,
        )
        self._ledger = DigestLedger()
        self._adopter = Adopter(client, self._retry, self._ledger)

    def handles(self, change: Change) -> bool:
        return change.address.startswith("container/") and change.action in _HANDLED

    def serial_key(self, change: Change) -> str:
        return f"ct:{self._vmid(change)}"

    def apply(self, change: Change) -> Outcome:
        started = time.monotonic()
        bound = log.bind(address=change.address, action=change.action.value)
        bound.info("apply.start")
        handler = {
            Action.CREATE: self._create,
            Action.UPDATE: self._update,
            Action.RESTART: self._update,
            Action.RESIZE: self._resize,
            Action.START: self._start,
            Action.STOP: self._stop,
            Action.DELETE: self._delete,
        }.get(change.action)
        if is_adoption(change):  # `reconcile adopt`: only the ownership tag is written
            handler = self._adopter.adopt
        if handler is None:
            raise PermanentError(f"{change.address}: {change.action.value} is not a PVE action")
        try:
            message = handler(change)
        except CodecError as exc:
            raise PermanentError(f"{change.address}: {exc}") from exc
        seconds = time.monotonic() - started
        bound.info("apply.done", seconds=round(seconds, 3), message=message)
        vmid, node = self._vmid(change), self._node(change)
        result = (("vmid", vmid), ("node", node))
        return Outcome(change.address, change.action, Status.APPLIED, message, seconds, result)

    # -- actions -------------------------------------------------------------------------

    def _create(self, change: Change) -> str:
        spec = self._spec(change)
        created = self._creator.create(spec, self._node(change))
        what = "adopted half-created" if created.adopted else "created"
        tail = " and started" if created.started else ""
        return f"{what} CT {spec.vmid} on {created.node}{tail}"

    def _update(self, change: Change) -> str:
        spec, vmid, node = self._spec(change), self._vmid(change), self._node(change)
        paths = [field.path for field in change.fields]
        changed = ""
        if paths:
            changed = self._retry.call(f"update CT {vmid}", lambda: self._put(change, spec, paths))
        if change.action != Action.RESTART:
            return changed or "nothing left to change"
        before = self._current(vmid, node)[1]
        if self._status(vmid, node) != "running":
            return f"{changed}; CT is stopped, pending values apply at its next start".lstrip("; ")
        self._retry.call(
            f"reboot CT {vmid}", lambda: self._task("POST", f"{self._base(change)}/status/reboot")
        )
        self._ledger.record(
            vmid, (change.precondition("digest"), before), self._current(vmid, node)[1]
        )
        return f"{changed}; rebooted to apply pending values".lstrip("; ")

    def _put(self, change: Change, spec: ContainerSpec, paths: list[str]) -> str:
        vmid, node = self._vmid(change), self._node(change)
        raw, digest = self._current(vmid, node)
        observed = self._observed(raw, vmid, node)
        params, delete = encode_update(spec, observed, paths, raw)
        opted_in = spec.allow_destructive and dict(change.options).get("allow_destructive") is True
        problem = scope_violation(paths, params, delete, observed, opted_in)
        if problem is not None:  # last guard: never write what the line does not name
            raise PermanentError(f"{change.address}: {problem}")
        if not params and not delete:
            return ""  # already as desired (e.g. a retried PUT that had gone through)
        self._ledger.check(vmid, change.precondition("digest"), digest)
        extra: dict[str, Any] = {"delete": ",".join(delete)} if delete else {}
        self._client.put(f"{self._base(change)}/config", digest=digest, **params, **extra)
        self._ledger.record(
            vmid, (change.precondition("digest"), digest), self._current(vmid, node)[1]
        )
        return "set " + ", ".join([*params, *(f"-{key}" for key in delete)])

    def _resize(self, change: Change) -> str:
        spec = self._spec(change)
        done: list[str] = []
        for field in change.fields:
            disk = disk_for_path(field.path)
            if disk is None:
                raise PermanentError(f"{change.address}: {field.path} is not a disk size")
            want = wanted_size(spec, disk, field.after)
            grow = functools.partial(self._grow, change, disk, want)
            if self._retry.call(f"resize {disk}", grow):
                done.append(f"{disk} to {format_disk_size(want)}")
        return "grew " + ", ".join(done) if done else "disks already at their size"

    def _grow(self, change: Change, disk: str, want: int) -> bool:
        vmid, node = self._vmid(change), self._node(change)
        raw, digest = self._current(vmid, node)
        have = disk_size(self._observed(raw, vmid, node), disk)
        if have == want:
            return False  # done already (e.g. by a retried call that had gone through)
        if want < have:
            raise PvePermanentError(
                f"{disk} of CT {vmid} is {have} bytes; never shrinking to {want}"
            )
        self._ledger.check(vmid, change.precondition("digest"), digest)
        self._task(
            "PUT",
            f"{self._base(change)}/resize",
            disk=disk,
            size=format_disk_size(want),
            digest=digest,
        )
        self._ledger.record(
            vmid, (change.precondition("digest"), digest), self._current(vmid, node)[1]
        )
        return True

    def _start(self, change: Change) -> str:
        base = self._base(change)
        self._retry.call("start", lambda: self._power(f"{base}/status/start", "already running"))
        return f"started CT {self._vmid(change)}"

    def _stop(self, change: Change) -> str:
        base = self._base(change)
        self._retry.call(
            "stop",
            lambda: self._power(
                f"{base}/status/shutdown", "not running", timeout=SHUTDOWN_TIMEOUT, forceStop=1
            ),
        )
        return f"shut down CT {self._vmid(change)}"

    def _delete(self, change: Change) -> str:
        vmid, node, base = self._vmid(change), self._node(change), self._base(change)
        raw, digest = self._current(vmid, node)
        self._ledger.check(vmid, change.precondition("digest"), digest)
        settings = self._observed(raw, vmid, node).settings
        if OWNER_TAG not in settings.tags:
            raise PermanentError(f"CT {vmid} does not carry {OWNER_TAG}; never deleting it")
        if settings.protection:
            raise PermanentError(f"CT {vmid} has protection=1; PVE forbids deleting it")
        if self._status(vmid, node) == "running":
            self._retry.call("stop", lambda: self._power(f"{base}/status/stop", "not running"))
        self._retry.call("delete", lambda: self._destroy(base, vmid, node))
        return f"deleted CT {vmid} from {node}"

    # -- helpers -------------------------------------------------------------------------

    def _destroy(self, base: str, vmid: int, node: str) -> None:
        try:
            self._task("DELETE", base, purge=1)
        except TransientError:
            if self._exists(vmid, node):
                raise
            # the DELETE went through; only its answer was lost

    def _power(self, path: str, done_text: str, **params: object) -> None:
        try:
            self._task("POST", path, **params)
        except PermanentError as exc:
            if done_text not in str(exc):
                raise  # "already running" / "not running": the state we wanted

    def _task(self, method: str, path: str, **params: object) -> None:
        call = {"POST": self._client.post, "PUT": self._client.put, "DELETE": self._client.delete}
        upid = call[method](path, **params)
        self._waiter.wait(str(upid))

    def _current(self, vmid: int, node: str) -> tuple[dict[str, Any], str]:
        raw = self._client.get(f"nodes/{node}/lxc/{vmid}/config")
        config = dict(raw) if isinstance(raw, dict) else {}
        return config, str(config.get("digest", ""))

    def _exists(self, vmid: int, node: str) -> bool:
        try:
            self._client.get(f"nodes/{node}/lxc/{vmid}/status/current")
        except PermanentError as exc:
            if is_missing(exc):
                return False
            raise
        return True

    def _status(self, vmid: int, node: str) -> str:
        current = self._client.get(f"nodes/{node}/lxc/{vmid}/status/current")
        return str(current.get("status", "")) if isinstance(current, dict) else ""

    def _observed(self, raw: Mapping[str, Any], vmid: int, node: str) -> ObservedContainer:
        return parse_observed(raw, vmid=vmid, node=node, status="unknown")

    def _spec(self, change: Change) -> ContainerSpec:
        spec = self._specs.get(change.address)
        if spec is None:
            raise PermanentError(f"{change.address}: no desired spec for this address")
        return spec

    def _vmid(self, change: Change) -> int:
        value = change.precondition("vmid")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return self._spec(change).vmid

    def _node(self, change: Change) -> str:
        value = change.precondition("node")
        if isinstance(value, str) and value:
            return value
        spec = self._specs.get(change.address)
        return (spec.node if spec is not None else None) or self._client.default_node

    def _base(self, change: Change) -> str:
        return f"nodes/{self._node(change)}/lxc/{self._vmid(change)}"
