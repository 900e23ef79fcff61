"""ProxmoxApplier: carries out the operations of `container/*` plan lines as PVE calls.

It never sees the specs and decides nothing: it checks the line's preconditions
(vmid, node, digest) and translates each operation into its API call. Every config
write carries the digest just read, after checking it against the plan's precondition
(see guard.DigestLedger). Tasks are awaited with our own poller. This applier owns
the retry of its PVE calls (the executor retries nothing): each call is retried
with the shared RetryPolicy, and a retry first checks whether the previous attempt
already took effect.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import structlog

from reconciler.apply.errors import PermanentError, TransientError
from reconciler.apply.retry import RetryPolicy
from reconciler.model.containers import OWNER_TAG
from reconciler.plan.change import Action, Change, Operation, is_adoption
from reconciler.plan.container_decode import disk_bytes
from reconciler.plan.container_ops import (
    CONFIG_OPS,
    AddTags,
    Create,
    Delete,
    Power,
    ResizeDisk,
)
from reconciler.plan.pve_text import (
    CodecError,
    format_disk_size,
    normalise_tags,
    parse_bool,
    split_list,
)
from reconciler.providers.proxmox.adopt import Adopter
from reconciler.providers.proxmox.client import PveClient
from reconciler.providers.proxmox.concurrent import created_message
from reconciler.providers.proxmox.config_put import config_body
from reconciler.providers.proxmox.create import Creator
from reconciler.providers.proxmox.errors import PvePermanentError, is_missing
from reconciler.providers.proxmox.guard import DigestLedger
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
    """Applier for `container/<name>` lines: their operations alone, no desired model."""

    def __init__(
        self,
        client: PveClient,
        settings: ApplySettings | None = None,
        *,
        backoff_base: float = 1.0,
        poll_interval: float = 0.1,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        settings = settings or ApplySettings()
        self._client = client
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
        if change.action not in _HANDLED:
            raise PermanentError(f"{change.address}: {change.action.value} is not a PVE action")
        if not change.operations:
            raise PermanentError(f"{change.address}: the line carries no operations; re-plan")
        try:
            message = "; ".join(self._run(change))
        except CodecError as exc:
            raise PermanentError(f"{change.address}: {exc}") from exc
        seconds = time.monotonic() - started
        bound.info("apply.done", seconds=round(seconds, 3), message=message)
        vmid, node = self._vmid(change), self._node(change)
        result = (("vmid", vmid), ("node", node))
        return Outcome(change.address, change.action, Status.APPLIED, message, seconds, result)

    def _run(self, change: Change) -> list[str]:
        """Each operation in order; consecutive config operations go out as one PUT."""
        done: list[str] = []
        ops = list(change.operations)
        while ops:
            if isinstance(ops[0], CONFIG_OPS):
                batch: list[Operation] = []
                while ops and isinstance(ops[0], CONFIG_OPS):
                    batch.append(ops.pop(0))
                put = self._retry.call(
                    f"update CT {self._vmid(change)}", functools.partial(self._put, change, batch)
                )
                done.append(put or "nothing left to change")
                continue
            done.append(self._one(change, ops.pop(0)))
        return done

    def _one(self, change: Change, op: Operation) -> str:
        if isinstance(op, Create):
            return self._create(change, op)
        if isinstance(op, ResizeDisk):
            return self._resize(change, op)
        if isinstance(op, Power):
            return {"start": self._start, "stop": self._stop, "reboot": self._reboot}[op.action](
                change
            )
        if isinstance(op, Delete):
            return self._delete(change, op)
        if isinstance(op, AddTags) and is_adoption(change):  # `reconcile adopt`
            return self._adopter.adopt(change, op)
        raise PermanentError(f"{change.address}: cannot carry out {op.to_dict()['op']} here")

    # -- operations ----------------------------------------------------------------------

    def _create(self, change: Change, op: Create) -> str:
        if op.vmid != self._vmid(change):
            raise PermanentError(
                f"{change.address}: create of {op.vmid} on a line for another vmid"
            )
        created = self._creator.create(op, self._node(change))
        return created_message(
            op.vmid,
            created.node,
            adopted=created.adopted,
            elsewhere=created.elsewhere,
            started=created.started,
        )

    def _put(self, change: Change, ops: list[Operation]) -> str:
        vmid, node = self._vmid(change), self._node(change)
        raw, digest = self._current(vmid, node)
        destructive = dict(change.options).get("allow_destructive") is True
        params, delete = config_body(ops, raw, destructive)
        if not params and not delete:
            return ""  # already as planned (e.g. a retried PUT that had gone through)
        self._ledger.check(vmid, change.precondition("digest"), digest)
        extra: dict[str, Any] = {"delete": ",".join(delete)} if delete else {}
        self._client.put(f"{self._base(change)}/config", digest=digest, **params, **extra)
        self._ledger.record(
            vmid, (change.precondition("digest"), digest), self._current(vmid, node)[1]
        )
        return "set " + ", ".join([*params, *(f"-{key}" for key in delete)])

    def _reboot(self, change: Change) -> str:
        vmid, node = self._vmid(change), self._node(change)
        before = self._current(vmid, node)[1]
        if self._status(vmid, node) != "running":
            return "CT is stopped, pending values apply at its next start"
        self._retry.call(
            f"reboot CT {vmid}", lambda: self._task("POST", f"{self._base(change)}/status/reboot")
        )
        self._ledger.record(
            vmid, (change.precondition("digest"), before), self._current(vmid, node)[1]
        )
        return "rebooted to apply pending values"

    def _resize(self, change: Change, op: ResizeDisk) -> str:
        grown = self._retry.call(f"resize {op.disk}", lambda: self._grow(change, op))
        size = format_disk_size(op.size_bytes)
        return f"grew {op.disk} to {size}" if grown else f"{op.disk} already at {size}"

    def _grow(self, change: Change, op: ResizeDisk) -> bool:
        vmid, node = self._vmid(change), self._node(change)
        raw, digest = self._current(vmid, node)
        text = raw.get(op.disk)
        if text is None:
            raise PvePermanentError(f"CT {vmid} has no disk {op.disk}")
        have = disk_bytes(str(text))
        if have == op.size_bytes:
            return False  # done already (e.g. by a retried call that had gone through)
        if op.size_bytes < have:
            raise PvePermanentError(
                f"{op.disk} of CT {vmid} is {have} bytes; never shrinking to {op.size_bytes}"
            )
        self._ledger.check(vmid, change.precondition("digest"), digest)
        self._task(
            "PUT",
            f"{self._base(change)}/resize",
            disk=op.disk,
            size=format_disk_size(op.size_bytes),
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

    def _delete(self, change: Change, op: Delete) -> str:
        vmid, node, base = self._vmid(change), self._node(change), self._base(change)
        if op.vmid != vmid:
            raise PermanentError(f"{change.address}: delete of {op.vmid} on a line for {vmid}")
        raw, digest = self._current(vmid, node)
        self._ledger.check(vmid, change.precondition("digest"), digest)
        if OWNER_TAG not in normalise_tags(split_list(raw.get("tags"))):
            raise PermanentError(f"CT {vmid} does not carry {OWNER_TAG}; never deleting it")
        if parse_bool(raw.get("protection")):
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

    def _vmid(self, change: Change) -> int:
        value = change.precondition("vmid")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise PermanentError(f"{change.address}: the line has no vmid precondition")

    def _node(self, change: Change) -> str:
        value = change.precondition("node")
        if isinstance(value, str) and value:
            return value
        return self._client.default_node

    def _base(self, change: Change) -> str:
        return f"nodes/{self._node(change)}/lxc/{self._vmid(change)}"
