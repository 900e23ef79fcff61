"""Wait for a PVE worker task (UPID) and judge its exit status; owns no retry policy.

Replaces proxmoxer's Tasks.blocking_status, which sleeps after the last poll,
returns None on timeout and never looks at exitstatus.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from reconciler.apply.errors import TransientError
from reconciler.providers.proxmox.errors import PvePermanentError, classify_task

log = structlog.get_logger(__name__)

_SUCCESS = re.compile(r"^(?:OK|WARNINGS: \d+)$")
LOG_TAIL_LINES = 10


class Caller(Protocol):
    def get(self, path: str, **params: object) -> Any: ...


@dataclass(frozen=True)
class TaskResult:
    upid: str
    exitstatus: str
    seconds: float


def task_node(upid: str) -> str:
    """`UPID:pve1:...` -> `pve1` (the node that runs the worker)."""
    parts = upid.split(":")
    if len(parts) < 9 or parts[0] != "UPID" or not parts[1]:
        raise PvePermanentError(f"not a PVE task id: {upid!r}")
    return parts[1]


def is_success(exitstatus: str) -> bool:
    """PVE's own rule: OK or `WARNINGS: n` is success, anything else an error."""
    return _SUCCESS.fullmatch(exitstatus.strip()) is not None


@dataclass(frozen=True)
class TaskWaiter:
    """Polls `/nodes/{node}/tasks/{upid}/status` from 0.1 s growing to 2 s between polls."""

    client: Caller
    timeout: float = 600.0
    first_interval: float = 0.1
    max_interval: float = 2.0
    progress_every: float = 5.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def wait(self, upid: str) -> TaskResult:
        node = task_node(upid)
        path = f"nodes/{node}/tasks/{upid}/status"
        started = self.clock()
        interval = self.first_interval
        last_progress = started
        while True:
            status = self._poll(path)
            elapsed = self.clock() - started
            if status is not None and status.get("status") == "stopped":
                exitstatus = str(status.get("exitstatus", "unexpected status"))
                if is_success(exitstatus):
                    log.debug("task.done", upid=upid, exitstatus=exitstatus, elapsed=elapsed)
                    return TaskResult(upid, exitstatus, elapsed)
                raise classify_task(exitstatus, upid, self._log_tail(node, upid))
            if elapsed >= self.timeout:
                raise PvePermanentError(
                    f"task {upid} still running after {self.timeout:.0f}s; "
                    "left running on PVE, the next cycle re-reads the state"
                )
            if self.clock() - last_progress >= self.progress_every:
                last_progress = self.clock()
                log.info("task.progress", upid=upid, elapsed=round(elapsed, 1))
            self.sleep(min(interval, max(self.timeout - elapsed, 0.0)))
            interval = min(interval * 1.5, self.max_interval)

    def _poll(self, path: str) -> dict[str, Any] | None:
        try:
            result = self.client.get(path)
        except TransientError as exc:  # a flaky status read does not fail the task
            log.warning("task.poll_failed", path=path, error=str(exc))
            return None
        return result if isinstance(result, dict) else None

    def _log_tail(self, node: str, upid: str) -> str:
        try:
            lines = self.client.get(f"nodes/{node}/tasks/{upid}/log", start=0, limit=0)
        except TransientError:
            return ""
        if not isinstance(lines, list):
            return ""
        ordered = sorted(lines, key=lambda row: int(row.get("n", 0)))
        return "\n".join(str(row.get("t", "")) for row in ordered[-LOG_TAIL_LINES:])
