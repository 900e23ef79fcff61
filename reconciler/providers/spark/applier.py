"""SparkMaintenanceApplier: the Applier for maintenance lines; one Spark application per run.

`prepare` registers every line of the plan; the first line applied starts ONE
spark-submit for all tables (application.SparkApplication: tables in parallel up to
their policy's `maxConcurrentJobs`, FAIR pools, per-table timeouts). The executor hands
over one line at a time (lines of one address serially, via `serial_key`); the first
line of a table waits for that table's results as they stream in, the later lines
then return the recorded outcome. A commit conflict is a TransientError, retried here
(this applier owns the retry; a retry runs the table's lines from the conflict on);
a timeout or other failure is a PermanentError (reported,
retried next cycle). A table's failure never blocks other tables.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from reconciler.apply.errors import ApplyError, PermanentError, PreconditionFailed, TransientError
from reconciler.apply.retry import RetryPolicy
from reconciler.model.policies import MaintenancePolicy
from reconciler.model.tables import TableSpec
from reconciler.plan.change import MAINTENANCE_ACTIONS, Change
from reconciler.providers.catalog_properties import CatalogConfigError, resolve_properties
from reconciler.providers.spark.application import SparkApplication, TableJob, merge_catalogs
from reconciler.providers.spark.jobs import (
    CatalogConf,
    JobError,
    ProcedureCall,
    catalog_conf,
    procedure_call,
)
from reconciler.providers.spark.runner import JobResult, log_tail, run_table_job
from reconciler.providers.spark.summary import describe
from reconciler.report.outcome import Outcome, Status
from reconciler.settings import Settings

CONFLICT_RETRY_DELAY = 5.0


class SparkMaintenanceApplier:
    """Applier for rewrite_data_files, expire_snapshots, remove_orphan_files, rewrite_manifests."""

    def __init__(
        self,
        settings: Settings,
        tables: Sequence[TableSpec],
        policies: Mapping[str, MaintenancePolicy],
        *,
        env: Mapping[str, str] | None = None,
        still_owned: Callable[[TableSpec], bool] | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._settings = settings
        self._retry = retry or RetryPolicy(attempts=settings.apply.retries + 1)
        self._tables = {t.address: t for t in tables}
        self._env = dict(os.environ if env is None else env)
        self._guard = threading.Lock()
        self._pending: dict[str, list[Change]] = {}
        self._recorded: dict[tuple[str, str], Outcome | ApplyError] = {}
        self._limits = {
            name: threading.BoundedSemaphore(max(1, p.max_concurrent_jobs))
            for name, p in policies.items()
        }
        self._pools = {name: max(1, p.max_concurrent_jobs) for name, p in policies.items()}
        self._default_limit = threading.BoundedSemaphore(1)
        self._start_lock = threading.Lock()
        self._application: SparkApplication | None = None
        self._started = False
        self._solo: set[str] = set()
        self._in_application: dict[str, list[Change]] = {}  # address -> lines it runs
        # Re-checked right before a job: orphan removal in a table that is not ours could
        # delete someone else's files.
        self._still_owned = still_owned

    def prepare(self, changes: Sequence[Change]) -> None:
        """Register the plan's lines so each table's lines share one spark-submit."""
        with self._guard:
            for change in changes:
                if self.handles(change):
                    self._pending.setdefault(change.address, []).append(change)
                else:
                    # Its maintenance waits for this line (skipped if it fails): such a
                    # table is not in the shared application, it runs when its turn comes.
                    self._solo.add(change.address)

    def handles(self, change: Change) -> bool:
        return change.action in MAINTENANCE_ACTIONS

    def serial_key(self, change: Change) -> str:
        return change.address

    def apply(self, change: Change) -> Outcome:
        return self._retry.call(
            f"{change.action.value} {change.address}", lambda: self._once(change)
        )

    def _once(self, change: Change) -> Outcome:
        key = (change.address, change.action.value)
        with self._guard:
            recorded = self._recorded.pop(key, None)
            pending = self._pending.get(change.address, [])
            batch = [change]
            if change in pending:
                batch = pending[pending.index(change) :]
        if recorded is None:
            self._run(batch)
            with self._guard:
                recorded = self._recorded.pop(key)
        if isinstance(recorded, ApplyError):
            raise recorded
        return recorded

    def apply_table(self, changes: Sequence[Change]) -> tuple[Outcome, ...]:
        """Without the executor: run one table's lines and return an Outcome for each."""
        if not changes:
            return ()
        self._run(list(changes))
        outcomes: list[Outcome] = []
        with self._guard:
            for change in changes:
                got = self._recorded.pop((change.address, change.action.value), None)
                if isinstance(got, Outcome):
                    outcomes.append(got)
                elif got is None:
                    outcomes.append(
                        Outcome(
                            change.address,
                            change.action,
                            Status.SKIPPED,
                            "an earlier change of this resource did not apply",
                        )
                    )
                else:
                    outcomes.append(Outcome(change.address, change.action, Status.FAILED, str(got)))
        return tuple(outcomes)

    def _build(self, batch: Sequence[Change]) -> tuple[CatalogConf, list[ProcedureCall]] | None:
        """The table's catalog conf and calls, or None with the error recorded."""
        address = batch[0].address
        table = self._tables.get(address)
        if table is not None and self._still_owned is not None and not self._still_owned(table):
            self._record_all(
                batch,
                PreconditionFailed(
                    f"{address} is no longer managed by the reconciler: not maintained, re-plan"
                ),
            )
            return None
        try:
            if table is None:
                raise JobError(f"{address} is not a table of the desired state")
            props, _ = resolve_properties(
                table.catalog,
                self._settings.catalog(table.catalog),
                self._env,
                Path(self._settings.state_dir),
            )
            conf = catalog_conf(table.catalog, props)
            parts = (*table.namespace, table.name)
            calls = [procedure_call(table.catalog, parts, c, prefix_listing=conf.s3) for c in batch]
        except (JobError, CatalogConfigError, KeyError, ValueError) as exc:
            self._record_all(batch, PermanentError(f"cannot build the Spark job: {exc}"))
            return None
        return conf, calls

    def _start_application(self) -> None:
        """Once, at the first line applied: one spark-submit for every registered table
        (ownership re-checked right before, per table)."""
        with self._guard:
            pending = {
                a: list(lines)
                for a, lines in self._pending.items()
                if lines and a not in self._solo and not any(c.depends_on for c in lines)
            }
        catalogs: list[CatalogConf] = []
        jobs: list[TableJob] = []
        for address, lines in pending.items():
            built = self._build(lines)
            if built is None:
                continue
            conf, calls = built
            catalogs.append(conf)
            table = self._tables[address]
            jobs.append(TableJob(address, tuple(calls), pool=table.policy or "default"))
            self._in_application[address] = lines
        if not jobs:
            return
        pools = {j.pool: self._pools.get(j.pool, 1) for j in jobs}
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
            for lines in self._in_application.values():
                self._record_all(lines, PermanentError(f"cannot start the Spark job: {exc}"))
            self._in_application.clear()
            return
        self._application = application

    def close(self) -> None:
        """Stop the shared application if it still runs (an interrupted apply)."""
        if self._application is not None:
            self._application.close()

    def _run(self, batch: list[Change]) -> None:
        address = batch[0].address
        with self._start_lock:
            if not self._started:
                self._started = True
                self._start_application()
            shared = self._in_application.get(address)
            if shared is not None and shared == batch:
                del self._in_application[address]
            else:
                shared = None
        if shared is not None:
            if self._application is None:
                return  # recorded by _start_application
            self._record_job(batch, self._application.result(address))
            return
        # A retry (or a line not registered with prepare): a spark-submit of its own.
        built = self._build(batch)
        if built is None:
            return
        conf, calls = built
        table = self._tables[address]
        limit = self._limits.get(table.policy or "", self._default_limit)
        with limit:
            job = run_table_job(
                self._settings.spark,
                conf,
                calls,
                state_dir=Path(self._settings.state_dir),
                app_name=f"maintain-{table.identifier}",
                env=self._env,
            )
        self._record_job(batch, job)

    def _record_all(self, batch: Sequence[Change], error: ApplyError) -> None:
        with self._guard:
            self._recorded[(batch[0].address, batch[0].action.value)] = error

    def _record_job(self, batch: Sequence[Change], job: JobResult) -> None:
        with self._guard:
            for change, result in zip(batch, job.results, strict=True):
                key = (change.address, change.action.value)
                if result.ok:
                    self._recorded[key] = Outcome(
                        change.address,
                        change.action,
                        Status.APPLIED,
                        describe(result),
                        result.seconds,
                        (*result.result, ("log_file", str(job.log_file))),
                    )
                elif result.ran:
                    message = f"{change.action.value} failed: {result.error} (log: {job.log_file})"
                    self._recorded[key] = (
                        TransientError(message, CONFLICT_RETRY_DELAY)
                        if result.conflict
                        else PermanentError(message)
                    )
                elif job.timed_out:
                    self._recorded[key] = PermanentError(
                        f"Spark job timed out after {self._settings.spark.timeout:.0f}s and was "
                        f"stopped; retried next cycle (log: {job.log_file})"
                    )
                    break
                else:
                    self._recorded[key] = PermanentError(
                        f"Spark job exited with code {job.returncode} before {change.action.value}"
                        f" ran: {log_tail(job.log_file)} (log: {job.log_file})"
                    )
                    break
                if not result.ok:
                    break
            # Lines that ran are done; the rest stay pending for a retry of this table.
            ran = {(c.address, c.action.value) for c in batch} & set(self._recorded)
            self._pending[batch[0].address] = [
                c
                for c in self._pending.get(batch[0].address, [])
                if (c.address, c.action.value) not in ran
            ]
