"""SparkMaintenanceApplier: the Applier for maintenance lines; one Spark application per run.

Each line carries its instruction (a CallProcedure: procedure, arguments, the age of its
cutoff, its policy's pool); this applier never sees a spec or a policy. `prepare` is
handed the plan's executable lines and the first table applied starts ONE spark-submit for
every table with maintenance lines (application.SparkApplication: tables in parallel up to
their pool's size, FAIR pools, per-table timeouts); a table whose maintenance must wait for
an earlier line of its own waits there, gated, until its maintain line is applied, and
`close()` at the end of the apply withdraws the ones never reached. A table's maintain line
carries its calls, and they run in order in one job; nothing is kept between lines but the
shared application itself. A commit
conflict is retried here (this applier owns the retry: a retry runs the table's lines from
the conflict on, in a job of its own); a timeout or other failure is reported and retried
next cycle. A table's failure never blocks other tables.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from reconciler.apply.errors import ApplyError, PermanentError, PreconditionFailed, TransientError
from reconciler.apply.retry import RetryPolicy
from reconciler.plan.change import MAINTENANCE_ACTIONS, Change
from reconciler.plan.maintenance_ops import CallProcedure, expand, procedure_of
from reconciler.plan.table_ops import table_identity
from reconciler.providers.catalog_properties import CatalogConfigError, resolve_properties
from reconciler.providers.spark.application import SparkApplication, TableJob, merge_catalogs
from reconciler.providers.spark.connect import ConnectApplication
from reconciler.providers.spark.jobs import CatalogConf, JobError, catalog_conf
from reconciler.providers.spark.procedures import ProcedureCall, procedure_call
from reconciler.providers.spark.runner import JobResult, log_tail, run_table_job
from reconciler.providers.spark.sharing import shared_tables
from reconciler.providers.spark.summary import describe
from reconciler.report.outcome import Outcome, Status, combine
from reconciler.settings import Settings

CONFLICT_RETRY_DELAY = 5.0
_AFTER_FAILURE = "an earlier change of this resource did not apply"


class SparkMaintenanceApplier:
    """Applier for maintain lines (a table's rewrite_data_files,
    rewrite_position_delete_files, rewrite_manifests, expire_snapshots, remove_orphan_files
    calls, in order, in one job)."""

    def __init__(
        self,
        settings: Settings,
        *,
        env: Mapping[str, str] | None = None,
        still_owned: Callable[[str], bool] | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._retry = retry or RetryPolicy(attempts=settings.apply.retries + 1)
        self._env = dict(os.environ if env is None else env)
        self._clock = clock  # the cutoffs of older_than are computed from it, per job
        self._limits: dict[str, threading.BoundedSemaphore] = {}
        self._limits_guard = threading.Lock()
        self._start_lock = threading.Lock()
        self._plan: tuple[Change, ...] = ()
        self._application: SparkApplication | ConnectApplication | None = None
        self._start_error: str | None = None
        self._started = False
        self._shared: dict[str, tuple[Change, ...]] = {}  # address -> lines it runs there
        self._gated: set[str] = set()  # shared tables that wait there for their turn
        # Re-checked (by address) right before a job: orphan removal in a table that is not
        # ours could delete someone else's files.
        self._still_owned = still_owned

    def prepare(self, changes: Sequence[Change]) -> None:
        """The plan's executable lines: tables with only maintenance lines (and no
        depends_on) share the one application started at the first table applied."""
        self._plan = tuple(changes)

    def handles(self, change: Change) -> bool:
        return change.action in MAINTENANCE_ACTIONS

    def serial_key(self, change: Change) -> str:
        return change.address

    def apply(self, change: Change) -> Outcome:
        """One table's maintain line: its calls in order in one job. The Outcome is APPLIED
        when every call applied; otherwise the status of the first that did not, its message
        naming that call, and the later calls are not run. `result["calls"]` holds each
        call's {procedure, status, message, seconds, result} (report.outcome.per_call)."""
        lines = expand(change)
        done, error = self._run(lines)
        if isinstance(error, PreconditionFailed):
            message = f"changed since the plan, re-plan: {error}"
            done.append(_outcome(lines[len(done)], Status.STALE, message))
        elif error is not None:
            done.append(_outcome(lines[len(done)], Status.FAILED, str(error)))
        done.extend(_outcome(c, Status.SKIPPED, _AFTER_FAILURE) for c in lines[len(done) :])
        return combine(change, done)

    def _run(self, lines: tuple[Change, ...]) -> tuple[list[Outcome], ApplyError | None]:
        """The outcomes of the lines that applied, in order, and the error of the next."""
        if not lines:
            return [], None
        with self._start_lock:
            if not self._started:
                self._started = True
                self._start_application()
        registered = self._shared.get(lines[0].address)
        if registered is not None and registered != lines:
            # The shared application runs the table's calls already: never a second time.
            return [], PermanentError(
                f"{lines[0].address}: its maintenance runs in the shared Spark application; "
                "apply its maintain line at once"
            )
        done: list[Outcome] = []  # this call's progress: a retry resumes after it
        shared = [registered is not None]

        def attempt() -> None:
            rest = lines[len(done) :]
            job = self._job(rest, shared[0])
            shared[0] = False  # a retry runs the rest in a job of its own
            self._read(rest, job, done)

        try:
            self._retry.call(f"maintenance {lines[0].address}", attempt)
        except ApplyError as exc:
            return done, exc
        return done, None

    def _job(self, lines: tuple[Change, ...], shared: bool) -> JobResult:
        """The shared application's result for the table (a gated table starts now), or a
        job of its own."""
        if shared and self._application is not None:
            address = lines[0].address
            owned = self._still_owned
            if address in self._gated and owned is not None and not owned(address):
                # Checked at the start too; its earlier lines ran since then.
                raise PreconditionFailed(
                    f"{address} is no longer managed by the reconciler: not maintained, re-plan"
                )
            self._application.release(address)
            return self._application.result(address)
        if shared and self._start_error is not None:
            raise PermanentError(self._start_error)
        return self._run_alone(lines)

    def _run_alone(self, lines: tuple[Change, ...]) -> JobResult:
        conf, calls, pool, size = self._build(lines)
        with self._limit(pool, size):
            if self._settings.spark.remote:  # Spark Connect: a one-table run on the server
                job = TableJob(lines[0].address, tuple(calls), pool=pool)
                alone = self._connect([(job, conf.name)], {pool: 1}, f"maintain-{conf.name}")
                alone.start()
                try:
                    return alone.result(job.key)
                finally:
                    alone.close()
            return run_table_job(
                self._settings.spark,
                conf,
                calls,
                state_dir=Path(self._settings.state_dir),
                app_name=f"maintain-{lines[0].address.removeprefix('table/')}",
                env=self._env,
            )

    def _limit(self, pool: str, size: int) -> threading.BoundedSemaphore:
        with self._limits_guard:
            return self._limits.setdefault(pool, threading.BoundedSemaphore(max(1, size)))

    def _build(self, lines: Sequence[Change]) -> tuple[CatalogConf, list[ProcedureCall], str, int]:
        """The table's catalog conf, its calls (cutoffs from the clock now) and its pool;
        raises PreconditionFailed if the table is no longer ours, PermanentError if the
        lines cannot become a job."""
        address = lines[0].address
        if self._still_owned is not None and not self._still_owned(address):
            raise PreconditionFailed(
                f"{address} is no longer managed by the reconciler: not maintained, re-plan"
            )
        try:
            ops = [_call(c) for c in lines]
            catalog, namespace, name = table_identity(address)
            props, _ = resolve_properties(
                catalog,
                self._settings.catalog(catalog),
                self._env,
                Path(self._settings.state_dir),
            )
            conf = catalog_conf(catalog, props)
            now = self._clock()
            calls = [
                procedure_call(catalog, (*namespace, name), op, now, prefix_listing=conf.s3)
                for op in ops
            ]
        except (JobError, CatalogConfigError, KeyError, ValueError) as exc:
            raise PermanentError(f"cannot build the Spark job: {exc}") from None
        return conf, calls, ops[0].pool, ops[0].pool_size

    def _start_application(self) -> None:
        """Once, at the first table applied: one spark-submit for every table of the plan
        that shares it (sharing.shared_tables; ownership re-checked right before, per table);
        a gated table starts there when its maintain line is applied."""
        sharing = shared_tables(self._plan)
        catalogs: list[CatalogConf] = []
        jobs: list[TableJob] = []
        names: list[str] = []
        pools: dict[str, int] = {}
        for address, lines in sharing.tables.items():
            try:
                conf, calls, pool, size = self._build(lines)
            except ApplyError:
                continue  # the table's own run reports it
            catalogs.append(conf)
            names.append(conf.name)
            jobs.append(TableJob(address, tuple(calls), pool=pool, gated=address in sharing.gated))
            if address in sharing.gated:
                self._gated.add(address)
            pools[pool] = max(pools.get(pool, 1), size)
            self._shared[address] = lines
        if not jobs:
            return
        if self._settings.spark.remote:  # no JVM here: the calls run on the server
            self._application = self._connect(
                list(zip(jobs, names, strict=True)), pools, f"maintain-{len(jobs)}-tables"
            )
            self._application.start()
            return
        application = SparkApplication(
            self._settings.spark,
            merge_catalogs(catalogs),
            jobs,
            state_dir=Path(self._settings.state_dir),
            app_name=f"maintain-{len(jobs)}-tables",
            pools=pools,
            env=self._env,
        )
        try:
            application.start()
        except (JobError, OSError) as exc:
            self._start_error = f"cannot start the Spark job: {exc}"
            return
        self._application = application

    def _connect(
        self, tables: list[tuple[TableJob, str]], pools: dict[str, int], name: str
    ) -> ConnectApplication:
        return ConnectApplication(
            self._settings.spark,
            tables,
            state_dir=Path(self._settings.state_dir),
            app_name=name,
            pools=pools,
            still_owned=self._still_owned,
        )

    def close(self) -> None:
        """At the end of the apply: gated tables never released (their earlier line failed)
        are withdrawn and the shared application ends; one still running (an interrupted
        apply) is stopped."""
        if self._application is not None:
            self._application.close()

    def _read(self, lines: Sequence[Change], job: JobResult, done: list[Outcome]) -> None:
        """Append the outcome of each line that applied; raise the error of the first that
        did not (a commit conflict is a TransientError: retried from that line on)."""
        for change, result in zip(lines, job.results, strict=True):
            if result.ok:
                done.append(
                    Outcome(
                        change.address,
                        change.action,
                        Status.APPLIED,
                        describe(result),
                        result.seconds,
                        (*result.result, ("log_file", str(job.log_file))),
                    )
                )
                continue
            if result.ran:
                message = f"{change.action.value} failed: {result.error} (log: {job.log_file})"
                if result.conflict:
                    raise TransientError(message, CONFLICT_RETRY_DELAY)
                raise PermanentError(message)
            if job.timed_out:
                raise PermanentError(
                    f"Spark job timed out after {self._settings.spark.timeout:.0f}s and was "
                    f"stopped; retried next cycle (log: {job.log_file})"
                )
            raise PermanentError(
                f"Spark job exited with code {job.returncode} before {change.action.value}"
                f" ran: {log_tail(job.log_file)} (log: {job.log_file})"
            )


def _call(change: Change) -> CallProcedure:
    call = procedure_of(change.operations)
    if call is None or call.procedure != change.action.value:
        raise JobError(f"{change.address} ({change.action.value}) carries no matching procedure")
    return call


def _outcome(change: Change, status: Status, message: str) -> Outcome:
    return Outcome(change.address, change.action, status, message)
