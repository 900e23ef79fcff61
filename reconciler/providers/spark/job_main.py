"""The PySpark script spark-submit runs: every table's CALL statements in one application.

Run only by spark-submit (never imported by the daemon). It reads a 0600 job file (tables
with their ordered calls, secret conf), runs up to each pool's limit of tables at once in
one SparkSession (threads, FAIR scheduler pools named after the policy), and prints one JSON
record per call to stdout as it completes (`RECORD_PREFIX` + JSON, one line), then a `done`
record per table. Within a table calls run in order and stop at the first failure (the
executor skips a resource's later lines after a failure, so the two agree; a table may say
`stop_on_failure: false`). A table running longer than its `timeout` has its job group
cancelled and its unfinished calls reported as `timeout`; one table's failure never touches
another's calls. A `gated` table waits until a `{"release": key}` line arrives on the job's
`releases` FIFO (its turn in the reconciler's run has come); at the FIFO's end the gated
tables never released are withdrawn (a `done` record with `withdrawn`) and the job ends. The
older single-table job file (`calls`, `result_file`) still works: the result file is
rewritten after every call so a killed job still tells what ran.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any
from xml.sax.saxutils import quoteattr

from pyspark import SparkConf
from pyspark.sql import SparkSession

RECORD_PREFIX = "@@reconciler-record "
MAX_LISTED_FILES = 50  # remove_orphan_files may return thousands of rows
WATCH_INTERVAL = 0.5
# A ValidationException is a conflict only when it says so ("Found conflicting files");
# others (e.g. gc.enabled=false) are permanent and must not be retried.
CONFLICT_MARKERS = (
    "CommitFailedException",
    "conflict",
    "Conflict",
    "CommitStateUnknownException",
    "database is locked",
)


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def summarise(action: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A procedure's result rows -> one flat JSON object."""
    if action == "remove_orphan_files":
        files = [str(r.get("orphan_file_location")) for r in rows]
        return {"orphan_files_count": len(files), "orphan_files": files[:MAX_LISTED_FILES]}
    if len(rows) == 1:
        return {k: _plain(v) for k, v in rows[0].items()}
    return {"rows": len(rows)}


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip()
    java = getattr(exc, "java_exception", None)
    if java is not None:
        text = str(java).strip() or text
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[:6])[:2000] or type(exc).__name__


class Reporter:
    """Prints records (one line each, never interleaved) and keeps the legacy result file."""

    def __init__(self, result_file: str | None) -> None:
        self._lock = threading.Lock()
        self._result_file = result_file
        self._results: list[dict[str, Any]] = []
        self._closed: set[str] = set()  # tables whose outcome is final (timed out, done)
        if result_file:
            self._write()

    def _write(self) -> None:
        if self._result_file:
            with open(self._result_file, "w", encoding="utf-8") as out:
                json.dump({"results": self._results}, out)

    def emit(self, record: dict[str, Any], *, final: bool = False) -> bool:
        """Print `record` unless its table is closed; `final` closes the table."""
        with self._lock:
            table = str(record.get("table", ""))
            if table in self._closed:
                return False
            if final:
                self._closed.add(table)
            sys.stdout.write(RECORD_PREFIX + json.dumps(record) + "\n")
            sys.stdout.flush()
            if "action" in record:
                self._results.append(record)
                self._write()
            return True


class TableRun:
    """One table's calls in order, in its own job group and FAIR pool; a table whose calls
    set Spark SQL conf (`conf`: a sort's shuffle partitions) runs in its own
    session, so tables running at once never see each other's conf."""

    def __init__(self, spark: SparkSession, table: dict[str, Any], reporter: Reporter) -> None:
        tuned = any(call.get("conf") for call in table["calls"])
        self.spark = spark.newSession() if tuned else spark
        self.table = table
        self.key = str(table["key"])
        self.group = f"reconciler-{table.get('index', 0)}"
        self.reporter = reporter
        self.started: float | None = None
        self.next_call = 0
        self.finished = threading.Event()
        self.timed_out = False

    def run(self, limit: threading.Semaphore) -> None:
        with limit:
            try:
                self._calls()
            finally:
                self.finished.set()
                self.reporter.emit({"table": self.key, "done": True}, final=True)

    def _calls(self) -> None:
        sc = self.spark.sparkContext
        sc.setJobGroup(self.group, f"maintain {self.key}", interruptOnCancel=True)
        sc.setLocalProperty("spark.scheduler.pool", str(self.table.get("pool") or "default"))
        self.started = time.monotonic()
        for position, call in enumerate(self.table["calls"]):
            self.next_call = position
            started = time.monotonic()
            record: dict[str, Any] = {"table": self.key, "index": position}
            record["action"] = call["action"]
            try:
                for key, value in (call.get("conf") or {}).items():
                    self.spark.conf.set(str(key), str(value))
                rows = [r.asDict(recursive=True) for r in self.spark.sql(call["sql"]).collect()]
            except Exception as exc:  # reported per action; the next cycle retries
                if self.timed_out:
                    return
                error = _error_text(exc)
                record.update(status="failed", error=error)
                record["conflict"] = any(m in error for m in CONFLICT_MARKERS)
                record["seconds"] = round(time.monotonic() - started, 3)
                self.reporter.emit(record)
                if self.table.get("stop_on_failure", True):
                    return
                continue
            record.update(status="ok", result=summarise(call["action"], rows))
            record["seconds"] = round(time.monotonic() - started, 3)
            self.reporter.emit(record)
        self.next_call = len(self.table["calls"])

    def withdraw(self) -> None:
        """Never released: the run ended without this table's turn (its earlier line failed)."""
        self.reporter.emit({"table": self.key, "done": True, "withdrawn": True}, final=True)
        self.finished.set()

    def overdue(self, now: float) -> bool:
        timeout = self.table.get("timeout")
        if timeout is None or self.started is None or self.finished.is_set() or self.timed_out:
            return False
        return now - self.started > float(timeout)

    def cancel(self) -> None:
        """Cancel the table's job group; its unfinished calls are reported as timed out."""
        self.timed_out = True
        self.spark.sparkContext.cancelJobGroup(self.group)
        calls = self.table["calls"]
        for position in range(self.next_call, len(calls)):
            self.reporter.emit(
                {
                    "table": self.key,
                    "index": position,
                    "action": calls[position]["action"],
                    "status": "timeout",
                    "error": f"timed out after {float(self.table['timeout']):.0f}s; job cancelled",
                }
            )
        self.reporter.emit({"table": self.key, "done": True, "timed_out": True}, final=True)


def read_releases(stream: IO[str], releases: queue.SimpleQueue[str | None]) -> None:
    """Each release line's table key, then None at the end of the stream (other lines are
    ignored: only the reconciler writes here)."""
    for line in stream:
        try:
            key = json.loads(line)["release"]
        except (ValueError, KeyError, TypeError):
            continue
        releases.put(str(key))
    releases.put(None)


def _tables(job: dict[str, Any]) -> list[dict[str, Any]]:
    if "tables" in job:
        return [dict(t, index=i) for i, t in enumerate(job["tables"])]
    return [
        {
            "key": job["app_name"],
            "index": 0,
            "calls": job["calls"],
            "stop_on_failure": job.get("stop_on_failure", True),
        }
    ]


def allocation_file(pools: dict[str, int]) -> str:
    """A FAIR scheduler allocation file declaring each policy's pool (weight 1), so Spark
    neither warns about nor guesses unknown pools."""
    body = "".join(
        f"<pool name={quoteattr(name)}><schedulingMode>FIFO</schedulingMode>"
        "<weight>1</weight><minShare>0</minShare></pool>"
        for name in sorted({*pools, "default"})
    )
    fd, path = tempfile.mkstemp(prefix="fairscheduler-", suffix=".xml")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f'<?xml version="1.0"?><allocations>{body}</allocations>')
    return path


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as handle:
        job = json.load(handle)
    pools: dict[str, int] = {str(k): max(1, int(v)) for k, v in job.get("pools", {}).items()}
    builder = SparkSession.builder.appName(job["app_name"])
    builder = builder.config("spark.scheduler.mode", "FAIR")
    allocations = None
    if not SparkConf().contains("spark.scheduler.allocation.file"):  # the operator's wins
        allocations = allocation_file(pools)
        builder = builder.config("spark.scheduler.allocation.file", allocations)
    for key, value in job.get("secret_conf", {}).items():
        builder = builder.config(key, value)  # never on the command line (ps shows it)
    spark = builder.getOrCreate()
    reporter = Reporter(job.get("result_file"))
    if allocations:
        os.unlink(allocations)  # read when the context started
    reporter.emit({"application_id": spark.sparkContext.applicationId})
    limits = {name: threading.BoundedSemaphore(n) for name, n in pools.items()}
    fallback = threading.BoundedSemaphore(1)
    runs = [TableRun(spark, t, reporter) for t in _tables(job)]
    gated = {r.key: r for r in runs if r.table.get("gated")}
    releases: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    if gated:
        # Non-blocking open: with the writer already gone it must not wait for one (EOF).
        fd = os.open(job["releases"], os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(fd, True)
        stream = os.fdopen(fd, encoding="utf-8")
        threading.Thread(target=read_releases, args=(stream, releases), daemon=True).start()
    workers = max(1, min(len(runs), sum(pools.values()) or 1))
    # Not a `with`: its exit would wait for a timed-out call that ignores cancellation.
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="table")

    def submit(run: TableRun) -> None:
        pool.submit(run.run, limits.get(str(run.table.get("pool")), fallback))

    try:
        for run in runs:
            if run.key not in gated:
                submit(run)
        while not all(r.finished.is_set() or r.timed_out for r in runs):
            _take_releases(releases, gated, submit)
            now = time.monotonic()
            for run in runs:
                if run.overdue(now):
                    run.cancel()
            time.sleep(WATCH_INTERVAL)
        pool.shutdown(wait=False, cancel_futures=True)
    finally:
        spark.stop()
    return 0


def _take_releases(
    releases: queue.SimpleQueue[str | None],
    gated: dict[str, TableRun],
    submit: Callable[[TableRun], None],
) -> None:
    """Start the tables released since the last look; at the end of the releases, withdraw
    the rest."""
    while True:
        try:
            key = releases.get_nowait()
        except queue.Empty:
            return
        if key is None:
            for run in gated.values():
                run.withdraw()
            gated.clear()
        elif (released := gated.pop(key, None)) is not None:
            submit(released)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
