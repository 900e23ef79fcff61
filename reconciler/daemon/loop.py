"""The daemon's schedule: poll, webhook, SIGHUP, dir-watch and drift triggers, backoff, SIGTERM.

One cycle at a time (the file lock shared with the CLI); a revision whose specs do
not validate is rejected whole and the last good revision stays in force.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import structlog

from reconciler.daemon import specs as spec_dirs
from reconciler.daemon.commit_status import make_statuses
from reconciler.daemon.heartbeat import HeartbeatWriter, idle_threshold, write_every
from reconciler.daemon.lock import LockBusy, cycle_lock
from reconciler.daemon.logs import configure_logging, log_action
from reconciler.daemon.metrics import Metrics
from reconciler.daemon.notify import Heartbeat, Notifier, watchdog_interval
from reconciler.daemon.record import iso
from reconciler.daemon.recorder import Recorder, crash_error, report_error
from reconciler.daemon.schedule import BUSY_RETRY, MANUAL, Cadence, drive, stall_allowance
from reconciler.daemon.secret_values import secret_values
from reconciler.daemon.services import Services
from reconciler.daemon.table_metrics import CycleTables, TableMetrics
from reconciler.daemon.triggers import Triggers
from reconciler.report.conditions import CycleError, CycleResult, Reason, Scope
from reconciler.report.outcome import Status
from reconciler.settings import Settings
from reconciler.sources.git import GitTreeError
from reconciler.store import Store

log = structlog.get_logger("reconciler.daemon")


class Daemon:
    """State in force (good / rejected revision) and the trigger queue of one daemon process.

    `clock` is wall time; `wait` is the idle wait between triggers (see Triggers).
    """

    def __init__(
        self,
        settings: Settings,
        env: Mapping[str, str] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        wait: Callable[[float], object] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.metadata_cache: Any = None  # parsed table metadata, built on the first cycle
        self.env = dict(os.environ if env is None else env)
        self.store = Store(settings.state_dir)
        self.metrics = Metrics()
        self.table_metrics = TableMetrics(clock)  # per-table gauges, from what cycles observed
        self.metrics.register(self.table_metrics)
        self.notifier = Notifier(self.env)
        self.source = spec_dirs.make_source(settings, self.env)
        self.statuses = make_statuses(settings.git, self.env)
        watchdog = watchdog_interval(self.env)
        self._idle = 2 * watchdog if watchdog else 60.0  # the loop wakes far more often
        self.heartbeat = Heartbeat(self._idle)
        poll = settings.daemon.poll_interval
        self._stale_idle = idle_threshold(poll)
        self.beats = HeartbeatWriter(self.store, write_every(poll), self._stale_idle)
        self.triggers = Triggers(
            0.0,
            0.0,
            min(1.0, self._idle / 4),  # deadlines: set by run()
            self._idle_beat,
            clock=clock,
            wait=wait,
        )
        self._rng = random.Random()
        self.cadence = Cadence(
            settings.daemon.poll_interval, settings.daemon.drift_interval, jitter=self._jitter
        )
        self.good: str | None = self.store.get("good_revision")
        self.rejected: str | None = self.store.get("rejected_revision")
        self.retry: Scope | None = None  # what the backoff timer re-runs
        self.metrics.revisions(self.good, self.rejected)
        self.table_metrics.seed(self.store.cycles(200))
        self.recorder = Recorder(
            self.store,
            self.metrics,
            self.notifier,
            self.statuses,
            clock,
            self._status_line,
            secret_values(settings, self.env),
        )

    # triggers -------------------------------------------------------------------------
    def request(self, trigger: str) -> None:
        self.triggers.request(trigger)

    def stop(self) -> None:
        self.triggers.stop()

    @property
    def stopping(self) -> bool:
        return self.triggers.stopping

    def _idle_beat(self) -> None:
        self.heartbeat.beat(self._idle)
        self.beats.beat(self._stale_idle)  # the store's copy, for `reconcile status`

    def _jitter(self, seconds: float) -> float:
        return seconds * self._rng.uniform(0.9, 1.1)

    # the loop ---------------------------------------------------------------------------
    def run(self) -> int:
        previous = {
            signal.SIGTERM: signal.signal(signal.SIGTERM, lambda s, f: self.stop()),
            signal.SIGINT: signal.signal(signal.SIGINT, lambda s, f: self.stop()),
            signal.SIGHUP: signal.signal(signal.SIGHUP, lambda s, f: self.request("signal")),
        }
        try:
            services = Services(self).start()
        except BaseException:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            raise
        spec_dirs.clear_work(self.settings)
        self.beats.beat(self._stale_idle, force=True)
        self.notifier.ready(self._status_line("starting"))
        self.notifier.start_watchdog(self.heartbeat)
        log.info(
            "daemon.started",
            source=self.source.label,
            revision=self.good,
            poll=self.settings.daemon.poll_interval,
            drift=self.settings.daemon.drift_interval,
        )
        self.cadence.start(self.triggers, self.clock())
        try:
            drive(self.triggers, self.cadence, self.cycle, self.clock, self._schedule)
        finally:
            self.notifier.stop_watchdog()  # no ping may follow STOPPING
            self.beats.stopped()
            self.notifier.stopping(self._status_line("stopping"))
            services.close()
            if self.statuses is not None:
                self.statuses.close()
            self.notifier.close()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            log.info("daemon.stopped")
        return 0

    def _schedule(self, at: float) -> None:
        self.beats.beat(self._stale_idle, force=True)  # every loop iteration
        self.metrics.next_run(at)
        try:
            self.store.put(next_run=iso(at))
        except Exception:  # status only: a full disk must not stop reconciling
            log.exception("store.failed")

    # one cycle --------------------------------------------------------------------------
    def cycle(self, trigger: str) -> tuple[CycleResult, bool]:
        """Run one cycle under the lock; (result, whether a full apply ran)."""
        cycle_id, started = uuid.uuid4().hex[:12], self.clock()
        self.heartbeat.beat(max(self._idle, stall_allowance(self.settings)))
        # a cycle may be silent for its longest bounded step: status must not call it dead
        self.beats.beat(stall_allowance(self.settings) + self._stale_idle)
        structlog.contextvars.bind_contextvars(cycle_id=cycle_id, trigger=trigger)
        try:
            with cycle_lock(self.settings.state_dir, wait=False):
                return self._locked_cycle(trigger)
        except LockBusy as exc:
            log.info("cycle.busy", reason=str(exc), retry_in=BUSY_RETRY)
            return CycleResult.BUSY, False
        except Exception as exc:  # a bug: logged, recorded, backed off; the daemon lives on
            log.exception("cycle.crashed")
            self.retry = self.retry or (Scope.DRIFT if trigger == "drift" else Scope.FULL)
            try:
                self.recorder.record(
                    trigger, started, self.good, CycleResult.FAILED, error=crash_error(exc)
                )
            except Exception:
                log.exception("cycle.record_failed")
            return CycleResult.FAILED, False
        finally:
            structlog.contextvars.clear_contextvars()

    def _locked_cycle(self, trigger: str) -> tuple[CycleResult, bool]:
        started = self.clock()
        try:
            latest = self.source.latest()
        except Exception as exc:  # network, auth, missing branch: retried with backoff
            log.error("source.failed", error=str(exc))
            failed = CycleError(Reason.SOURCE_FAILED, f"source: {exc}")
            self.recorder.record(trigger, started, self.good, CycleResult.FAILED, error=failed)
            return CycleResult.FAILED, False
        structlog.contextvars.bind_contextvars(revision=latest)
        if latest not in (self.good, self.rejected):
            return self._new_revision(trigger, started, latest)
        if self.good is None:
            return CycleResult.IDLE, False
        structlog.contextvars.bind_contextvars(revision=self.good)
        if self.retry is Scope.FULL or trigger in MANUAL:
            return self._reconcile(trigger, started, full=True), True
        if trigger == "drift" or self.retry is Scope.DRIFT:
            return self._reconcile(trigger, started, full=False), False
        return CycleResult.IDLE, False

    def _new_revision(self, trigger: str, started: float, latest: str) -> tuple[CycleResult, bool]:
        from reconciler.engine import load

        self.recorder.publish(latest, "pending")
        try:
            export = self.source.export(latest, spec_dirs.work_dir(self.settings))
        except GitTreeError as exc:  # the commit itself has no usable specs folder
            return self._reject(trigger, started, latest, str(exc)), False
        except Exception as exc:  # fetch, disk: worth retrying, with backoff
            log.error("source.export_failed", error=str(exc))
            failed = CycleError(Reason.SOURCE_FAILED, f"source: {exc}")
            self.recorder.record(
                trigger, started, latest, CycleResult.FAILED, error=failed, publish=True
            )
            return CycleResult.FAILED, False
        desired, error = load(export, self.settings)
        if desired is None:
            shutil.rmtree(export, ignore_errors=True)
            error = spec_dirs.user_paths(error or "invalid specs", export, self.source)
            return self._reject(trigger, started, latest, error), False
        spec_dirs.promote(self.settings, latest, export)
        log.info("revision.accepted", previous=self.good)
        self.good, self.rejected = latest, None
        self.store.put(good_revision=latest, rejected_revision=None, rejected_error=None)
        self.metrics.revisions(self.good, None)
        return self._reconcile(trigger, started, full=True), True

    def _reject(self, trigger: str, started: float, latest: str, error: str) -> CycleResult:
        """The whole revision is refused; the last good one stays in force."""
        self.rejected = latest
        self.store.put(rejected_revision=latest, rejected_error=error)
        self.metrics.revisions(self.good, self.rejected)
        log.error("revision.rejected", error=error, in_force=self.good)
        invalid = CycleError(Reason.SPEC_INVALID, error)
        self.recorder.record(
            trigger, started, latest, CycleResult.REJECTED, error=invalid, publish=True
        )
        return CycleResult.REJECTED

    def _deps(self, seen: CycleTables) -> Any:
        from reconciler.wiring import build_deps, new_metadata_cache

        if self.settings.catalogs and self.metadata_cache is None:
            # Kept across cycles: an unchanged table costs no metadata read.
            self.metadata_cache = new_metadata_cache()

        bound = log.bind(**structlog.contextvars.get_contextvars())  # pool threads lack them

        def listener(event: str, change: Any, outcome: Any) -> None:
            self.heartbeat.beat()  # progress: the cycle is slow, not hung
            self.beats.beat()
            log_action(bound, event, change, outcome)

        return replace(
            seen.wrap(build_deps(self.settings, metadata_cache=self.metadata_cache)),
            stop_requested=lambda: self.stopping,
            listener=listener,
        )

    def _reconcile(self, trigger: str, started: float, full: bool) -> CycleResult:
        from reconciler.engine import RunOptions, reconcile_once

        assert self.good is not None
        try:
            specs = spec_dirs.good_copy(self.settings, self.source, self.good)
            if specs is None:
                raise FileNotFoundError(f"no copy of revision {self.good}")
            options = RunOptions(apply=True, drift_only=not full)
            seen = CycleTables()
            report = reconcile_once(self.settings, specs, options, self.good, self._deps(seen))
            self.table_metrics.finish(seen, report, self.clock())
        except Exception as exc:  # a broken edge must not kill the daemon: recorded, retried
            log.exception("cycle.crashed")
            self.retry = Scope.FULL if full else Scope.DRIFT
            failed = crash_error(exc)
            self.recorder.record(
                trigger, started, self.good, CycleResult.FAILED, error=failed, publish=full
            )
            return CycleResult.FAILED
        skipped = sum(o.status is Status.SKIPPED for o in report.outcomes)
        stopped = self.stopping and skipped > 0  # SIGTERM cut it short: not a success
        result = CycleResult.FAILED if report.failed or stopped else CycleResult.SUCCESS
        self.retry = (Scope.FULL if full else Scope.DRIFT) if result is CycleResult.FAILED else None
        error = report_error(report)
        if stopped and not report.failed:
            error = CycleError(
                Reason.INTERRUPTED,
                f"stopped before {skipped} action(s) ran; the next start resumes",
            )
        self.recorder.record(
            trigger, started, self.good, result, report, error, publish=full and not stopped
        )  # the restarted daemon posts the result
        return result

    def _status_line(self, result: str) -> str:
        rejected = f", rejected {self.rejected[:12]} (invalid specs)" if self.rejected else ""
        return f"revision {(self.good or 'none')[:12]}, last {result}{rejected}"


def run_daemon(settings: Settings) -> int:
    """`reconcile daemon`: run until SIGTERM; 0 on a clean stop, 2 on a setup error."""
    configure_logging()
    try:
        daemon = Daemon(settings)
    except Exception as exc:  # bad source config, unwritable state dir
        log.error("daemon.setup_failed", error=str(exc))
        return 2
    try:
        return daemon.run()
    except (OSError, ValueError) as exc:
        log.error("daemon.failed", error=str(exc))
        return 2
