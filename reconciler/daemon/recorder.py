"""Records a finished cycle: history entry, store state, metrics, systemd STATUS and the
Gitea commit status; and names a cycle's failure (CycleError). No scheduling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import structlog

from reconciler.daemon.commit_status import CommitStatuses, describe
from reconciler.daemon.metrics import Metrics
from reconciler.daemon.notify import Notifier
from reconciler.daemon.record import cycle_record, failed_actions, pending_by_kind
from reconciler.daemon.secret_values import mask
from reconciler.report.conditions import CycleError, CycleResult, Reason
from reconciler.report.drift import HEALTH
from reconciler.report.outcome import CycleReport
from reconciler.store import Store

log = structlog.get_logger("reconciler.daemon")


class Recorder:
    """Where a cycle's result goes once it is known."""

    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        notifier: Notifier,
        statuses: CommitStatuses | None,
        clock: Callable[[], float],
        status_line: Callable[[str], str],
        secrets: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.notifier = notifier
        self.statuses = statuses
        self.clock = clock
        self.status_line = status_line
        self.secrets = secrets  # masked by value in history and commit statuses

    def publish(
        self,
        sha: str,
        result: CycleResult | str,
        summary: dict[str, int] | None = None,
        error: str | None = None,
    ) -> None:
        """A commit status for `sha` (full cycles only: drift timers would flood Gitea)."""
        if self.statuses is None:
            return
        state = result if result in ("pending", "success") else "failure"
        self.statuses.post(
            sha,
            state,
            mask(describe(result, summary, error), self.secrets),
            only_changes=state != "pending",
        )

    def record(
        self,
        trigger: str,
        started: float,
        revision: str | None,
        result: CycleResult,
        report: CycleReport | None = None,
        error: CycleError | None = None,
        publish: bool = False,
    ) -> None:
        finished = self.clock()
        record = cycle_record(trigger, started, finished, revision, result, report, error)
        record = replace(
            record,
            error=None if record.error is None else mask(record.error, self.secrets),
            actions=tuple(
                replace(action, message=mask(action.message, self.secrets))
                for action in record.actions
            ),
        )
        if publish and revision is not None:
            self.publish(revision, result, record.summary, record.error or failed_actions(record))
        self.store.record(record)
        state: dict[str, Any] = {"last_result": result.value}
        if report is not None and report.error is None:
            kinds = pending_by_kind(report)
            state["pending_drift"] = sum(n for kind, n in kinds.items() if kind != HEALTH)
            self.metrics.drift(kinds)
        self.store.put(**state)
        self.metrics.cycle(result.value, finished - started, finished)
        self.notifier.status(self.status_line(result))
        log.info(
            "cycle.recorded",
            result=result.value,
            reason=record.reason,
            seconds=record.seconds,
            summary=record.summary,
            error=record.error,
        )


def crash_error(exc: BaseException) -> CycleError:
    return CycleError(Reason.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")


def report_error(report: CycleReport) -> CycleError | None:
    """The named failure of a cycle that ran: no plan (observe failed), or failed lines."""
    if report.error is not None:
        return report.error
    if report.failed:
        return CycleError(Reason.APPLY_FAILED, "")  # the failed actions say what
    return None
