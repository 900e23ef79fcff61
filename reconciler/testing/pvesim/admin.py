"""The `/_sim/` admin API: state dump, request log, reset, faults, gate (JSON, no auth)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .core import Answer, SimCore
from .faults import Faults


def handle_admin(core: SimCore, method: str, path: str, params: dict[str, Any]) -> Answer:
    """Dispatch one admin call."""
    what = path[len("/_sim/") :].strip("/")
    if what == "state" and method == "GET":
        return _ok(core.dump())
    if what == "requests" and method == "GET":
        return _ok([asdict(r) for r in core.requests()])
    if what == "requests" and method == "DELETE":
        core.clear_requests()
        return _ok(None)
    if what == "reset" and method == "POST":
        core.reset()
        return _ok(None)
    if what == "faults" and method == "GET":
        return _ok(core.injector.faults.to_json())
    if what == "faults" and method in ("PUT", "POST"):
        try:
            faults = Faults.from_json(params)
        except (TypeError, ValueError) as exc:
            return Answer(400, "bad fault settings", {"data": None, "message": f"{exc}\n"})
        core.injector.set(faults)
        return _ok(faults.to_json())
    if what == "gate" and method == "GET":
        return _ok(core.gate.status())
    if what == "gate" and method in ("PUT", "POST"):
        return _gate(core, params)
    if what == "gate" and method == "DELETE":
        core.gate.release(drop=str(params.get("drop", "")).lower() in ("1", "true"))
        return _ok(core.gate.status())
    msg = f"Method '{method} {path}' not implemented"
    return Answer(501, msg, {"data": None, "message": msg + "\n"})


def _gate(core: SimCore, params: dict[str, Any]) -> Answer:
    """`{"after": N}`: serve N more API requests, then hold the rest until DELETE."""
    after = params.get("after")
    if set(params) != {"after"} or isinstance(after, bool) or not str(after).isdecimal():
        msg = 'gate settings are {"after": N} with N a whole number >= 0'
        return Answer(400, "bad gate settings", {"data": None, "message": msg + "\n"})
    core.gate.close_after(int(str(after)))
    return _ok(core.gate.status())


def _ok(data: Any) -> Answer:
    return Answer(200, "OK", {"data": data})
