"""One Spark application for every table of a maintenance run, its results streamed per table.

The job (job_main.py) prints one record line per call as it completes; a reader thread
here files each under its table, so a caller waiting on one table gets its outcome as soon
as that table is done, while the others still run. A gated table (its maintenance waits for
an earlier line of its own, e.g. a retention delete) starts only when `release(key)` writes
its key to the run's release FIFO (releases.py); ending the releases, or this process
ending, withdraws the gated tables never released. Output other than records goes to the
run's log file; secrets travel in the 0600 job file, never on the command line.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import structlog

from reconciler.providers.spark.jobs import CatalogConf, conf_from_env, submit_argv
from reconciler.providers.spark.procedures import ProcedureCall
from reconciler.providers.spark.releases import ReleaseFifo
from reconciler.providers.spark.runner import (
    JOB_MAIN,
    LOGS_KEPT,
    ActionResult,
    JobResult,
    job_env,
    kill_group,
    prune_logs,
)
from reconciler.settings import SparkSettings

log = structlog.get_logger(__name__)
RECORD_PREFIX = b"@@reconciler-record "  # job_main.RECORD_PREFIX (not imported: pyspark)
STARTUP_ALLOWANCE = 300.0  # JVM start, package resolution, catalog connections
EXIT_GRACE_SECONDS = 30.0  # after the releases end, for the job to stop its session itself


@dataclass(frozen=True)
class TableJob:
    """One table's ordered calls; `pool` names its FAIR pool and concurrency limit; a
    `gated` table waits in the application until it is released."""

    key: str
    calls: tuple[ProcedureCall, ...]
    pool: str = "default"
    gated: bool = False


def merge_catalogs(catalogs: Sequence[CatalogConf]) -> CatalogConf:
    """The conf of several catalogs in one session (each has its own `spark.sql.catalog.<name>`
    keys, so they do not collide)."""
    unique = {c.name: c for c in catalogs}
    return CatalogConf(
        name=",".join(sorted(unique)),
        conf=tuple(dict.fromkeys(kv for c in unique.values() for kv in c.conf)),
        secrets=tuple(dict.fromkeys(kv for c in unique.values() for kv in c.secrets)),
        jars=tuple(dict.fromkeys(j for c in unique.values() for j in c.jars)),
        s3=any(c.s3 for c in unique.values()),
    )


class _Table:
    def __init__(self, job: TableJob) -> None:
        self.job = job
        self.records: dict[int, dict[str, Any]] = {}
        self.timed_out = False
        self.done = threading.Event()
        self.finished_at: float | None = None


class SparkApplication:
    """A started spark-submit running every table's calls; `result(key)` waits for one table."""

    def __init__(
        self,
        settings: SparkSettings,
        catalog: CatalogConf,
        tables: Sequence[TableJob],
        *,
        state_dir: Path,
        app_name: str,
        pools: Mapping[str, int],
        env: Mapping[str, str] | None = None,
        startup_allowance: float = STARTUP_ALLOWANCE,
    ) -> None:
        self._settings = settings
        self._startup_allowance = startup_allowance
        self._catalog = catalog
        self._tables = {t.key: _Table(t) for t in tables}
        self._state_dir = state_dir
        self._app_name = app_name
        self._pools = {name: max(1, n) for name, n in pools.items()}
        self._env = dict(os.environ if env is None else env)
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._started = 0.0
        self._deadline_at = math.inf
        self._releases: ReleaseFifo | None = None  # while gated tables wait for their turn
        self._killed = False
        self.application_id: str | None = None
        work = state_dir / "spark"
        self.log_file = work / "logs" / "unset.log"
        self._job_path: Path | None = None

    def start(self) -> None:
        """Write the job file and start spark-submit (raises JobError for a bad conf)."""
        environ = self._env
        secret_conf = {
            **dict(self._catalog.secrets),
            **dict(conf_from_env(self._settings.conf, environ)),
        }
        work = self._state_dir / "spark"
        logs = work / "logs"
        logs.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", self._app_name)
        self.log_file = logs / f"{stamp}-{safe_name}.log"
        prune_logs(logs, safe_name, keep=LOGS_KEPT - 1)
        fd, job_path = tempfile.mkstemp(prefix="job-", suffix=".json", dir=work)  # mode 0600
        self._job_path = Path(job_path)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                if any(t.job.gated for t in self._tables.values()):
                    self._releases = ReleaseFifo(work)
                json.dump(self._job(secret_conf), handle)
            self._launch(job_path, work)
        except BaseException:  # a conf error, no spark-submit: leave no job file nor FIFO
            self._job_path.unlink(missing_ok=True)
            if self._releases is not None:
                self._releases.remove()
                self._releases = None
            raise

    def _job(self, secret_conf: Mapping[str, str]) -> dict[str, Any]:
        """The job file's content: the tables, their calls, the pools, the secret conf."""
        return {
            "app_name": self._app_name,
            "secret_conf": secret_conf,
            "pools": self._pools,
            "tables": [
                {
                    "key": t.job.key,
                    "pool": t.job.pool,
                    "timeout": self._settings.timeout,
                    "calls": [c.to_job() for c in t.job.calls],
                    **({"gated": True} if t.job.gated else {}),
                }
                for t in self._tables.values()
            ],
            **({"releases": str(self._releases.path)} if self._releases else {}),
        }

    def _launch(self, job_path: str, work: Path) -> None:
        """Start spark-submit on the job file, and the threads that read and watch it."""
        spark_submit = self._settings.submit or str(Path(sys.executable).parent / "spark-submit")
        argv = submit_argv(
            spark_submit,
            self._settings,
            self._catalog,
            JOB_MAIN,
            job_path,
            self._app_name,
            ivy_dir=str(work / "ivy"),
        )
        log.info(
            "spark_application_start",
            app=self._app_name,
            tables=len(self._tables),
            pools=self._pools,
            master=self._settings.master,
            log_file=str(self.log_file),
        )
        self._started = time.monotonic()
        self._deadline_at = self._started + self._deadline()
        # argv is a list built by jobs.submit_argv; no shell. Own group: a kill takes the JVM.
        self._proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=job_env(self._env),
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, name="spark-records", daemon=True)
        self._reader.start()
        threading.Thread(target=self._watch, name="spark-deadline", daemon=True).start()

    def _deadline(self) -> float:
        """A backstop: per-table timeouts are enforced inside the job; this catches a job
        that hangs as a whole (start-up, a stuck session)."""
        workers = max(1, min(len(self._tables), sum(self._pools.values()) or 1))
        rounds = math.ceil(len(self._tables) / workers)
        return self._settings.timeout * rounds + self._startup_allowance

    def _watch(self) -> None:
        proc = self._proc
        assert proc is not None
        while True:  # a release moves the deadline on
            try:
                proc.wait(timeout=max(0.0, self._deadline_at - time.monotonic()))
                return
            except subprocess.TimeoutExpired:
                if time.monotonic() < self._deadline_at:
                    continue
            self._killed = True
            log.warning("spark_application_deadline", app=self._app_name)
            kill_group(proc)
            return

    def release(self, key: str) -> None:
        """Let a gated table start (a no-op for any other): its turn in the run has come."""
        table = self._tables.get(key)
        if table is None or not table.job.gated:
            return
        # Waiting for its turn is not hanging: the backstop counts from the release.
        self._deadline_at = max(self._deadline_at, time.monotonic() + self._deadline())
        if self._releases is not None and self._releases.send(key):
            log.info("spark_table_released", app=self._app_name, table=key)

    def _read(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        try:
            with self.log_file.open("wb") as out:
                self._pump(proc.stdout, out)
        finally:
            proc.wait()
            if self._job_path is not None:
                self._job_path.unlink(missing_ok=True)
            if self._releases is not None:
                self._releases.remove()
            for table in self._tables.values():
                if not table.done.is_set():
                    table.timed_out = table.timed_out or self._killed
                    table.finished_at = time.monotonic()
                    table.done.set()
            log.info(
                "spark_application_done",
                app=self._app_name,
                application_id=self.application_id,
                returncode=proc.returncode,
                seconds=round(time.monotonic() - self._started, 3),
            )

    def _pump(self, stream: IO[bytes], out: IO[bytes]) -> None:
        for line in stream:
            if not line.startswith(RECORD_PREFIX):
                out.write(line)
                out.flush()
                continue
            try:
                record: dict[str, Any] = json.loads(line[len(RECORD_PREFIX) :])
            except ValueError:
                out.write(line)
                continue
            self._file(record)

    def _file(self, record: dict[str, Any]) -> None:
        if "application_id" in record:
            self.application_id = str(record["application_id"])
            log.info("spark_application_id", app=self._app_name, id=self.application_id)
            return
        table = self._tables.get(str(record.get("table")))
        if table is None:
            return
        if record.get("done"):
            table.timed_out = table.timed_out or bool(record.get("timed_out"))
            table.finished_at = time.monotonic()
            table.done.set()
            log.info("spark_table_done", app=self._app_name, table=table.job.key)
        elif "index" in record:
            table.records[int(record["index"])] = record

    def result(self, key: str) -> JobResult:
        """Wait for one table's records; its calls' results as run_table_job returns them."""
        table = self._tables[key]
        table.done.wait()
        proc = self._proc
        returncode = proc.poll() if proc is not None else None  # None: still running others
        results: list[ActionResult] = []
        for position, call in enumerate(table.job.calls):
            item = table.records.get(position)
            if item is None or item.get("status") == "timeout":
                results.append(ActionResult(call.action, ran=False, ok=False))
                continue
            results.append(
                ActionResult(
                    call.action,
                    ran=True,
                    ok=item.get("status") == "ok",
                    result=tuple(sorted(dict(item.get("result", {})).items())),
                    error=str(item.get("error", "")),
                    conflict=bool(item.get("conflict")),
                    seconds=float(item.get("seconds", 0.0)),
                )
            )
        finished = table.finished_at or time.monotonic()
        return JobResult(
            tuple(results),
            returncode,
            table.timed_out,
            self.log_file,
            round(finished - self._started, 3),
        )

    def close(self) -> None:
        """End the run: gated tables never released are withdrawn (the releases end) and
        the job, left with nothing to run, stops its session; an application still running
        tables (an interrupted run) or past the grace period is killed: nothing is left."""
        proc = self._proc
        if proc is None:
            return
        sent: set[str] = set()
        if self._releases is not None:
            self._releases.end()
            sent = self._releases.sent
        idle = all(
            t.done.is_set() or (t.job.gated and t.job.key not in sent)
            for t in self._tables.values()
        )
        if idle:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=EXIT_GRACE_SECONDS)
        if proc.poll() is None:
            kill_group(proc)
        if self._reader is not None:
            self._reader.join(timeout=30)
