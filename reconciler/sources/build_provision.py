"""`spec.provision` and `spec.readiness` of a Container document -> model values; reads the
scripts they name (files of the specs tree, paths relative to the spec's file)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from reconciler.model.containers import Provision, ProvisionStep, Readiness
from reconciler.model.units import UnitError, parse_duration
from reconciler.sources.documents import Document, PathKey, Problems
from reconciler.sources.tree import MAX_FILE_BYTES

STEP_TIMEOUT = 600  # 10m
READY_TIMEOUT = 300  # 5m
READY_INTERVAL = 5


def _duration(problems: Problems, path: PathKey, value: Any, default: int) -> int:
    if value is None:
        return default
    try:
        seconds = parse_duration(value)
    except UnitError as exc:
        problems.add(path, str(exc))
        return default
    if seconds <= 0:
        problems.add(path, "must be greater than zero")
        return default
    return seconds


def _script(doc: Document, problems: Problems, path: PathKey, raw: str) -> tuple[str, bytes]:
    """(path under the specs root, content); a path out of the tree or unreadable is a problem."""
    if not doc.root:
        problems.add(path, "scripts can only be read from a specs tree")
        return raw, b""
    root = Path(doc.root).resolve()
    base = Path(doc.locate(path).file).parent  # a Defaults file's steps are relative to it
    target = (base / raw).resolve()
    if not target.is_relative_to(root):
        problems.add(path, f"{raw!r} is outside the specs tree {doc.root}")
        return raw, b""
    shown = target.relative_to(root).as_posix()
    if not target.is_file():
        problems.add(path, f"{raw!r}: no such file ({shown} in the specs tree)")
        return shown, b""
    if target.stat().st_size > MAX_FILE_BYTES:
        problems.add(path, f"{raw!r} is larger than {MAX_FILE_BYTES} bytes")
        return shown, b""
    return shown, target.read_bytes()


def build_step(
    doc: Document, problems: Problems, path: PathKey, raw: dict[str, Any]
) -> ProvisionStep:
    script, content = _script(doc, problems, (*path, "script"), raw.get("script", ""))
    env = tuple(sorted((key[: -len("_env")], str(var)) for key, var in raw.get("env", {}).items()))
    return ProvisionStep(
        script=script,
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        args=tuple(str(a) for a in raw.get("args", ())),
        env=env,
        run_as=raw.get("runAs"),
        timeout_seconds=_duration(problems, (*path, "timeout"), raw.get("timeout"), STEP_TIMEOUT),
    )


def build_provision(doc: Document, problems: Problems, raw: Any) -> Provision | None:
    """A list of steps, or {host, steps}; None when the spec has no `provision`."""
    if raw is None:
        return None
    host = None
    items: Any = raw
    base: PathKey = ("spec", "provision")
    if isinstance(raw, dict):
        host, items, base = raw.get("host"), raw.get("steps", []), (*base, "steps")
    if not isinstance(items, list):
        return None  # the schema reports it
    steps = tuple(
        build_step(doc, problems, (*base, i), item)
        for i, item in enumerate(items)
        if isinstance(item, dict)
    )
    return Provision(steps=steps, host=host)


def build_readiness(doc: Document, problems: Problems, raw: Any) -> Readiness | None:
    if not isinstance(raw, dict):
        return None
    path: PathKey = ("spec", "readiness")
    probes = [key for key in ("tcp", "http", "command") if key in raw]
    if len(probes) != 1:
        problems.add(path, "give exactly one of tcp, http, command")
    command = raw.get("command")
    return Readiness(
        tcp=raw.get("tcp"),
        http=raw.get("http"),
        command=(
            build_step(doc, problems, (*path, "command"), command)
            if isinstance(command, dict)
            else None
        ),
        timeout_seconds=_duration(problems, (*path, "timeout"), raw.get("timeout"), READY_TIMEOUT),
        interval_seconds=_duration(
            problems, (*path, "interval"), raw.get("interval"), READY_INTERVAL
        ),
    )
