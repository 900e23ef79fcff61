"""Every table's CALL statements through a Spark Connect server (`spark.remote`), no JVM here.

The same interface as application.SparkApplication (start, result per table, close), but
the calls run from this process over gRPC (`SparkSession.builder.remote(url)`): up to each
pool's size of tables at once in threads, each table in a Connect session of its own (its
calls' `session_conf` set there before each call, so tables running at once never see each
other's conf; closed after its calls), its calls in order under a tag of its own; a table
over its timeout has that tag interrupted (`interruptTag`) and its unfinished calls reported
as timed out. A gated table starts only at `release(key)` (its turn in the run); close()
ends the ones never released. The catalogs live on the server: at start each needed catalog
is looked up in the server's conf, and a missing one fails the tables that use it with a
message saying so.
pyspark is imported only at `start` (the daemon without `spark.remote` never loads it).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog

from reconciler.providers.spark.application import TableJob
from reconciler.providers.spark.connect_table import ConnectTable, run_calls
from reconciler.providers.spark.runner import LOGS_KEPT, ActionResult, JobResult, prune_logs
from reconciler.settings import SparkSettings

log = structlog.get_logger(__name__)
WATCH_INTERVAL = 0.25
CONNECT_TIMEOUT = 10.0


class ConnectApplication:
    """Runs every table's calls on the Spark Connect server at `settings.remote`."""

    def __init__(
        self,
        settings: SparkSettings,
        tables: Sequence[tuple[TableJob, str]],
        *,
        state_dir: Path,
        app_name: str,
        pools: Mapping[str, int],
        still_owned: Callable[[str], bool] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not settings.remote:
            raise ValueError("ConnectApplication needs spark.remote")
        self._settings = settings
        self._remote = settings.remote
        self._tables = {job.key: ConnectTable(i, job, cat) for i, (job, cat) in enumerate(tables)}
        self._pools = {name: max(1, n) for name, n in pools.items()}
        self._app_name = app_name
        self._clock = clock
        self._still_owned = still_owned  # by table key, right before its calls
        self._lock = threading.Lock()
        self._session: Any = None
        self._executor: ThreadPoolExecutor | None = None
        self._limits: dict[str, threading.BoundedSemaphore] = {}
        self._fallback = threading.BoundedSemaphore(1)  # a pool not in `pools`
        self._released: set[str] = set()
        self._stopped = threading.Event()
        self._started = clock()
        self.application_id: str | None = None
        logs = state_dir / "spark" / "logs"
        logs.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", app_name)
        prune_logs(logs, safe_name, keep=LOGS_KEPT - 1)
        self.log_file = logs / f"{stamp}-{safe_name}.log"

    def _note(self, text: str) -> None:
        with self._lock, self.log_file.open("a", encoding="utf-8") as out:
            out.write(f"{datetime.now(UTC).isoformat(timespec='seconds')} {text}\n")

    def start(self) -> None:
        """Connect, check the catalogs, start the tables (never raises: a failure to
        connect fails every table with its reason)."""
        self._started = self._clock()
        self._note(f"connect {self._remote} app={self._app_name} tables={len(self._tables)}")
        try:
            from pyspark.sql import SparkSession  # only in Connect mode
            from pyspark.sql.connect.utils import check_dependencies

            check_dependencies("pyspark.sql.connect")  # grpc, pandas, pyarrow
        except ImportError as exc:
            self._fail_all(
                f"spark.remote needs the Spark Connect client ({exc}): "
                "pip install 'datalake-reconciler[connect]'"
            )
            return
        try:
            _reachable(self._remote)  # the client would retry for minutes before failing

            # A session of its own (not the process default): close() stops only it.
            session = SparkSession.builder.remote(self._remote).create()
            self.application_id = str(session.conf.get("spark.app.id", None) or "") or None
            known = {t.catalog: _has_catalog(session, t.catalog) for t in self._tables.values()}
        except Exception as exc:  # grpc errors are not one type: every failure fails the run
            self._fail_all(f"cannot reach the Spark Connect server {self._remote}: {_text(exc)}")
            return
        self._session = session
        log.info(
            "spark_connect_start",
            remote=self._remote,
            app=self._app_name,
            application_id=self.application_id,
            tables=len(self._tables),
        )
        for table in self._tables.values():
            if not known[table.catalog]:
                self._finish(
                    table,
                    error=f"catalog {table.catalog!r} is not configured on the Spark Connect "
                    f"server {self._remote} (set spark.sql.catalog.{table.catalog} there; "
                    "see docs/maintenance.md)",
                )
        self._limits = {name: threading.BoundedSemaphore(n) for name, n in self._pools.items()}
        workers = max(1, min(len(self._tables), sum(self._pools.values()) or 1))
        with self._lock:
            self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="connect")
            for table in self._tables.values():
                if not table.job.gated or table.job.key in self._released:
                    self._submit(table)
        threading.Thread(target=self._watch, name="connect-deadline", daemon=True).start()

    def _submit(self, table: ConnectTable) -> None:
        """Queue a table's calls (called under self._lock)."""
        if self._executor is None or table.done.is_set():
            return
        limit = self._limits.get(table.job.pool, self._fallback)
        self._executor.submit(self._run, table, limit)

    def release(self, key: str) -> None:
        """Let a gated table start (a no-op for any other): its turn in the run has come."""
        table = self._tables.get(key)
        if table is None or not table.job.gated:
            return
        with self._lock:
            if key in self._released or self._stopped.is_set():
                return
            self._released.add(key)
            self._submit(table)

    def _fail_all(self, message: str) -> None:
        log.warning("spark_connect_failed", remote=self._remote, error=message)
        for table in self._tables.values():
            self._finish(table, error=message)

    def _finish(
        self, table: ConnectTable, *, error: str | None = None, timed_out: bool = False
    ) -> None:
        with self._lock:
            if table.done.is_set():
                return
            table.error = error
            table.timed_out = timed_out
            table.finished_at = self._clock()
            table.done.set()
        if error:
            self._note(f"{table.job.key}: {error}")
        log.info("spark_table_done", app=self._app_name, table=table.job.key, timed_out=timed_out)

    def _run(self, table: ConnectTable, limit: threading.BoundedSemaphore) -> None:
        with limit:
            if table.done.is_set() or self._stopped.is_set():
                return
            if self._still_owned is not None and not self._still_owned(table.job.key):
                # Orphan removal in a table that is not ours could delete someone's files.
                self._finish(
                    table, error=f"{table.job.key} is no longer managed by the reconciler: "
                    "not maintained, re-plan",
                )  # fmt: skip
                return
            try:
                session = self._open_session()
            except Exception as exc:  # grpc errors are not one type; the next cycle retries
                self._finish(
                    table,
                    error=f"cannot open a session on the Spark Connect server {self._remote}: "
                    f"{_text(exc)}",
                )
                return
            with self._lock:
                table.session = session
            session.addTag(table.tag)  # thread-local: this thread's operations only
            table.started = self._clock()
            try:
                run_calls(table, session, self._clock, self._lock, self._note)
            finally:
                self._finish(table)
                with self._lock:
                    table.session = None
                session.stop()  # releases the server's session; best effort by pyspark

    def _watch(self) -> None:
        timeout = self._settings.timeout
        while not self._stopped.is_set():
            pending = [t for t in self._tables.values() if not t.done.is_set()]
            if not pending:
                return
            now = self._clock()
            for table in pending:
                if table.started is not None and now - table.started > timeout:
                    self._note(f"{table.job.key}: timed out after {timeout:.0f}s, interrupted")
                    self._finish(table, timed_out=True)
                    self._interrupt(table)
            self._stopped.wait(WATCH_INTERVAL)

    def _open_session(self) -> Any:
        """A Connect session of its own: conf set there stays there, close() stops only it."""
        from pyspark.sql import SparkSession

        return SparkSession.builder.remote(self._remote).create()

    def _interrupt(self, table: ConnectTable) -> None:
        """Interrupt the table's operations (tagged in its own session), if it has started."""
        with self._lock:
            session = table.session
        if session is None:
            return
        try:
            session.interruptTag(table.tag)
        except Exception as exc:  # the server may be gone; the table is reported anyway
            log.warning("spark_connect_interrupt_failed", error=_text(exc))

    def result(self, key: str) -> JobResult:
        """Wait for one table; its calls' results as SparkApplication.result gives them."""
        table = self._tables[key]
        table.done.wait()
        results: list[ActionResult] = []
        for position, call in enumerate(table.job.calls):
            got = table.results.get(position)
            if got is not None and not (table.timed_out and position >= table.next_call):
                results.append(got)
            elif table.error is not None and position == 0:
                results.append(ActionResult(call.action, ran=True, ok=False, error=table.error))
            else:
                results.append(ActionResult(call.action, ran=False, ok=False))
        finished = table.finished_at or self._clock()
        return JobResult(
            tuple(results),
            None,
            table.timed_out,
            self.log_file,
            round(finished - self._started, 3),
        )

    def close(self) -> None:
        """Interrupt what still runs and drop the session (the server keeps running)."""
        self._stopped.set()
        session = self._session
        if session is None:
            return
        for table in self._tables.values():
            if not table.done.is_set():
                self._finish(table, error="the run was stopped")
                self._interrupt(table)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        session.stop()  # best effort by pyspark's design; the server keeps running


def _reachable(remote: str) -> None:
    """Raise OSError unless the server's port accepts a TCP connection."""
    parts = urlsplit(remote.split(";", 1)[0])
    with socket.create_connection((parts.hostname or "", parts.port or 15002), CONNECT_TIMEOUT):
        pass


def _has_catalog(session: Any, name: str) -> bool:
    return bool(session.conf.get(f"spark.sql.catalog.{name}", None))


def _text(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return "\n".join(lines[:3])[:500] or type(exc).__name__
