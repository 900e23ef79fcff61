"""Runs one table's maintenance calls in a spark-submit subprocess, never in our own process.

One JVM per table (start-up costs ~5 s), its own process group so a timeout
kills the whole tree, output captured to a log file in state_dir, secrets in a
0600 job file rather than on the command line.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from reconciler.plan.change import Action, JSONValue
from reconciler.providers.spark.jobs import CatalogConf, conf_from_env, submit_argv
from reconciler.providers.spark.procedures import ProcedureCall
from reconciler.settings import SparkSettings

log = structlog.get_logger(__name__)
LOGS_KEPT = 20  # job logs kept per table in <state_dir>/spark/logs
KILL_GRACE_SECONDS = 15.0
# By path, not import: the daemon must not load pyspark.
JOB_MAIN = str(Path(__file__).with_name("job_main.py"))


@dataclass(frozen=True)
class ActionResult:
    action: Action
    ran: bool
    ok: bool
    result: tuple[tuple[str, JSONValue], ...] = ()
    error: str = ""
    conflict: bool = False  # a commit conflict: worth retrying
    seconds: float = 0.0


@dataclass(frozen=True)
class JobResult:
    results: tuple[ActionResult, ...]
    returncode: int | None
    timed_out: bool
    log_file: Path
    seconds: float
    argv: tuple[str, ...] = field(default=(), repr=False)


_ENV_KEEP = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "LANG",
        "TZ",
        "TMPDIR",
        "JAVA_HOME",
        "JAVA_TOOL_OPTIONS",
        "PYTHONPATH",
        "VIRTUAL_ENV",
    }
)
_ENV_KEEP_PREFIXES = ("LC_", "SPARK_", "PYSPARK_", "HADOOP_")
# pyspark marks its process as a Spark Connect client in these once a remote session opens
# (a Connect run earlier in the same process): the job's driver would then look for a
# Connect server instead of starting its own (CONNECT_URL_NOT_SET).
_ENV_DROP = frozenset({"SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE"})


def job_env(base: Mapping[str, str]) -> dict[str, str]:
    """An allow-listed environment (the daemon's holds API tokens the JVM must never see;
    catalog secrets travel in the 0600 job file). spark-submit from a venv needs the venv's
    bin on PATH and its python for PySpark."""
    env = {
        k: v
        for k, v in base.items()
        if (k in _ENV_KEEP or k.startswith(_ENV_KEEP_PREFIXES)) and k not in _ENV_DROP
    }
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([venv_bin, env.get("PATH", "/usr/bin:/bin")])
    env["PYSPARK_PYTHON"] = sys.executable
    env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return env


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, grace in ((signal.SIGTERM, KILL_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _parse_results(path: Path, calls: Sequence[ProcedureCall]) -> tuple[ActionResult, ...]:
    try:
        raw: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError):
        raw = []
    results: list[ActionResult] = []
    for position, call in enumerate(calls):
        if position >= len(raw):
            results.append(ActionResult(call.action, ran=False, ok=False))
            continue
        item = raw[position]
        result = item.get("result", {})
        results.append(
            ActionResult(
                call.action,
                ran=True,
                ok=item.get("status") == "ok",
                result=tuple(sorted(result.items())),
                error=str(item.get("error", "")),
                conflict=bool(item.get("conflict")),
                seconds=float(item.get("seconds", 0.0)),
            )
        )
    return tuple(results)


def run_table_job(
    settings: SparkSettings,
    catalog: CatalogConf,
    calls: Sequence[ProcedureCall],
    *,
    state_dir: Path,
    app_name: str,
    env: Mapping[str, str] | None = None,
    keep_going: bool = False,
) -> JobResult:
    """Run `calls` in order in one spark-submit; per-call results, even after a timeout.

    `keep_going`: run every call even after one fails (one JVM for many independent calls)."""
    # Catalog secrets and spark.conf `<key>_env` values: the 0600 job file, never argv.
    environ = env if env is not None else os.environ
    secret_conf = {**dict(catalog.secrets), **dict(conf_from_env(settings.conf, environ))}
    work = state_dir / "spark"
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", app_name)
    log_file = logs / f"{stamp}-{safe_name}.log"
    prune_logs(logs, safe_name, keep=LOGS_KEPT - 1)  # room for this run's log
    fd, job_path = tempfile.mkstemp(prefix="job-", suffix=".json", dir=work)  # mode 0600
    result_path = Path(job_path).with_suffix(".result.json")
    job = {
        "app_name": app_name,
        "secret_conf": secret_conf,
        "calls": [c.to_job() for c in calls],
        "result_file": str(result_path),
        "stop_on_failure": not keep_going,
    }
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(job, handle)
    spark_submit = settings.submit or str(Path(sys.executable).parent / "spark-submit")
    # Ivy's cache in the state dir: packages resolved once are found there by later runs,
    # without the network.
    ivy_dir = work / "ivy"
    argv = submit_argv(
        spark_submit, settings, catalog, JOB_MAIN, job_path, app_name, ivy_dir=str(ivy_dir)
    )
    started = time.monotonic()
    timed_out = False
    log.info(
        "spark_job_start",
        app=app_name,
        calls=[c.action.value for c in calls],
        master=settings.master,
        log_file=str(log_file),
    )
    try:
        with log_file.open("wb") as out:
            # argv is a list built by jobs.submit_argv; no shell is involved.
            proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=job_env(env or os.environ),
                start_new_session=True,
            )  # own group: kill the JVM tree too
            try:
                proc.wait(timeout=settings.timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                kill_group(proc)
            finally:
                if proc.poll() is None:  # interrupted while waiting: leave nothing behind
                    kill_group(proc)
        results = _parse_results(result_path, calls)
    finally:
        for path in (Path(job_path), result_path):
            path.unlink(missing_ok=True)
    seconds = round(time.monotonic() - started, 3)
    log.info(
        "spark_job_done",
        app=app_name,
        returncode=proc.returncode,
        timed_out=timed_out,
        seconds=seconds,
        ok=[r.action.value for r in results if r.ok],
    )
    return JobResult(results, proc.returncode, timed_out, log_file, seconds, tuple(argv))


def prune_logs(logs: Path, name: str, keep: int) -> None:
    """Keep the newest `keep` job logs of one table (their names sort by time)."""
    mine = sorted(logs.glob(f"*-{name}.log"))
    for old in mine[: max(0, len(mine) - keep)]:
        old.unlink(missing_ok=True)


def log_tail(path: Path, lines: int = 5) -> str:
    """Last error-looking lines of a job log, for an Outcome message."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    errors = [line for line in text if "Error" in line or "Exception" in line]
    return "\n".join((errors or text)[-lines:])
