"""Readiness probes of a CT: a TCP connect, an HTTP GET (2xx/3xx), or a command over SSH
(exit 0). One attempt each; the waiting loop is the applier's, with an injected clock."""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from reconciler.apply.errors import PermanentError, TransientError
from reconciler.model.containers import ContainerSpec, Readiness
from reconciler.providers.ssh.session import Session, script_program
from reconciler.settings import ProvisionSettings

PROBE_TIMEOUT = 3.0  # seconds per attempt


def env_values(env: Sequence[tuple[str, str]], address: str) -> dict[str, str]:
    """Remote name -> value of the local env var; an unset variable is a permanent error."""
    values: dict[str, str] = {}
    for name, var in env:
        value = os.environ.get(var)
        if value is None:
            raise PermanentError(f"{address}: env var {var} (for {name}) is not set")
        values[name] = value
    return values


def probe(
    spec: ContainerSpec, cfg: ProvisionSettings, timeout: float = PROBE_TIMEOUT
) -> str | None:
    """None when the CT's readiness passes, else why not (one attempt)."""
    readiness: Readiness | None = spec.readiness
    host = spec.ssh_host
    if readiness is None:
        return None
    if readiness.tcp is not None:
        if host is None:
            return "no address to probe (set provision.host or a static network[0].ip)"
        try:
            with socket.create_connection((host, readiness.tcp), timeout=timeout):
                return None
        except OSError as exc:
            return f"{host}:{readiness.tcp}: {exc.strerror or exc}"
    if readiness.http is not None:
        try:
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # direct
            with opener.open(readiness.http, timeout=timeout) as reply:
                status = int(reply.status)
        except urllib.error.HTTPError as exc:
            return f"{readiness.http}: HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            return f"{readiness.http}: {getattr(exc, 'reason', exc)}"
        return None if status < 400 else f"{readiness.http}: HTTP {status}"
    step = readiness.command
    if step is None or host is None:
        return "no command or no address to probe"
    try:
        program = script_program(step.content, step.args, env_values(step.env, spec.address))
        with Session(host, cfg) as session:
            run = session.run(program, step.run_as, min(step.timeout_seconds, 60))
    except (PermanentError, TransientError) as exc:
        return str(exc)
    if run.exit_code == 0:
        return None
    last = run.output.decode(errors="replace").strip().splitlines()[-1:] or [""]
    code = "timed out" if run.exit_code is None else f"exit {run.exit_code}"
    return f"{step.script} {code}" + (f": {last[0]}" if last[0] else "")


def probe_all(specs: Sequence[ContainerSpec], cfg: ProvisionSettings) -> dict[str, str]:
    """address -> why its probe fails, for the failing ones (probed in parallel)."""
    if not specs:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(specs))) as pool:
        results = list(pool.map(lambda s: probe(s, cfg), specs))
    return {s.address: why for s, why in zip(specs, results, strict=True) if why is not None}
