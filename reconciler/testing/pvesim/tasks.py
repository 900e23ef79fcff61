"""Simulated workers: UPIDs, start, lazy completion on the clock, status and log views."""

from __future__ import annotations

import re
from typing import Any

from .context import Ctx, Worker
from .errors import ApiError, TaskFailure, param_error
from .state import Cluster, Task

_UPID = re.compile(
    r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):"
    r"([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$"
)
INJECTED = "simulated task failure (pvesim fault injection)"


def make_upid(
    node: str, pid: int, pstart: int, starttime: int, kind: str, ident: str, user: str
) -> str:
    """PVE's UPID text, trailing colon included."""
    return f"UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{kind}:{ident}:{user}:"


def parse_upid(upid: str) -> dict[str, Any]:
    """Decode a UPID or raise PVE's 400."""
    m = _UPID.match(upid)
    if not m:
        raise param_error({"upid": f"unable to parse worker upid '{upid}'"})
    return {
        "node": m.group(1),
        "pid": int(m.group(3), 16),
        "pstart": int(m.group(4), 16),
        "starttime": int(m.group(5), 16),
        "type": m.group(6),
        "id": m.group(7),
        "user": m.group(8),
    }


def start_task(
    ctx: Ctx, node: str, kind: str, ident: str, action: str, args: dict[str, Any] | None = None
) -> str:
    """Register a worker; with task_seconds 0 it finishes before the UPID is returned."""
    cl = ctx.cluster
    pid = cl.next_pid
    cl.next_pid += 1
    starttime = int(ctx.now)
    pstart = (starttime % 100000) * 100 + pid % 100
    upid = make_upid(node, pid, pstart, starttime, kind, ident, ctx.identity.userid)
    task_args = dict(args or {})
    if ctx.fail_task:
        task_args["inject_failure"] = True
    task = Task(
        upid,
        node,
        kind,
        ident,
        ctx.identity.userid,
        starttime,
        pid,
        pstart,
        action,
        task_args,
        ctx.now + max(ctx.task_seconds, 0.0),
    )
    cl.tasks[upid] = task
    if ctx.task_seconds <= 0:
        finish(cl, task, ctx.workers)
    return upid


def advance(cl: Cluster, now: float, workers: dict[str, Worker] | Any) -> bool:
    """Complete every task whose time has come, oldest first; True if any changed state."""
    due = sorted(
        (t for t in cl.tasks.values() if t.status == "running" and t.finish_at <= now),
        key=lambda t: (t.finish_at, t.pid),
    )
    for task in due:
        finish(cl, task, workers)
    return bool(due)


def finish(cl: Cluster, task: Task, workers: Any) -> None:
    """Run the worker's effect and record PVE's exit status and final log line."""
    try:
        lines: list[str] = workers[task.action](cl, task)
    except (TaskFailure, ApiError) as exc:
        msg = str(exc.message if isinstance(exc, ApiError) else exc).replace("\n", " ").strip()
        task.log.append(f"TASK ERROR: {msg}")
        task.exitstatus = msg
    else:
        warnings = sum(1 for line in lines if line.startswith("WARN: "))
        task.log.extend(lines)
        task.exitstatus = f"WARNINGS: {warnings}" if warnings else "OK"
        task.log.append(f"TASK WARNINGS: {warnings}" if warnings else "TASK OK")
    task.status = "stopped"


def check_injected(task: Task) -> None:
    """Workers call this first so an injected failure changes nothing."""
    if task.args.get("inject_failure"):
        raise TaskFailure(INJECTED)


def find_task(cl: Cluster, node: str, upid: str) -> Task:
    """Task lookup with PVE's 400 texts."""
    parse_upid(upid)
    task = cl.tasks.get(upid)
    if task is None or task.node != node:
        raise param_error({"upid": "no such task"})
    return task


def status_view(task: Task) -> dict[str, Any]:
    """GET .../tasks/{upid}/status."""
    user, _, token = task.user.partition("!")
    out: dict[str, Any] = {
        "upid": task.upid,
        "node": task.node,
        "pid": task.pid,
        "pstart": task.pstart,
        "starttime": task.starttime,
        "type": task.type,
        "id": task.id,
        "user": user,
        "status": task.status,
    }
    if token:
        out["tokenid"] = token
    if task.status == "stopped":
        out["exitstatus"] = task.exitstatus
    return out


def log_view(task: Task, start: int, limit: int) -> list[dict[str, Any]]:
    """GET .../tasks/{upid}/log: 1-based `n`, `limit=0` for all, `no content` when empty."""
    lines = task.log
    chunk = lines[start:] if limit == 0 else lines[start : start + limit]
    if not chunk:
        return [{"n": 1, "t": "no content"}]
    return [{"n": start + k + 1, "t": text} for k, text in enumerate(chunk)]
