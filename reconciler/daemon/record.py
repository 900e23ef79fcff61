"""Turns a cycle's CycleReport into its history record and drift figures; no scheduling."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.daemon.logs import mask_text
from reconciler.report.conditions import CycleError, CycleResult, reason_of
from reconciler.report.drift import HEALTH, drift_keys, is_health, kind_of
from reconciler.report.outcome import CycleReport, Status, per_call
from reconciler.store import ActionRecord, CycleRecord


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def pending_addresses(report: CycleReport) -> set[str]:
    """Addresses the plan found different and that no applied outcome fixed."""
    fixed = {o.address for o in report.outcomes if o.status is Status.APPLIED}
    broken = {o.address for o in report.outcomes if o.status is not Status.APPLIED}
    return {c.address for c in report.plan.changes if c.address not in fixed or c.address in broken}


def pending_by_kind(report: CycleReport) -> dict[str, int]:
    """Resources still different after the cycle, by kind; maintenance that is due counts
    as `health`, not as drift (a table waiting for its window has not drifted)."""
    pending = pending_addresses(report)
    seen = {
        (HEALTH if is_health(c) else kind_of(c.address), c.address)
        for c in report.plan.changes
        if c.address in pending
    }
    kinds: dict[str, int] = {}
    for kind, _ in seen:
        kinds[kind] = kinds.get(kind, 0) + 1
    return dict(sorted(kinds.items()))


def failed_actions(cycle: CycleRecord) -> str | None:
    """The failed or stale actions of a cycle, one clause each, or None."""
    bad = [
        f"{a.address} {a.action}: {a.message}"
        for a in cycle.actions
        if a.status in ("failed", "stale")
    ]
    return "; ".join(bad) or None


def cycle_record(
    trigger: str,
    started: float,
    finished: float,
    revision: str | None,
    result: CycleResult | str,
    report: CycleReport | None = None,
    error: CycleError | None = None,
) -> CycleRecord:
    """The history entry of one cycle; `error` names why it failed (else the report's)."""
    actions: tuple[ActionRecord, ...] = ()
    drift: tuple[tuple[str, str, str], ...] = ()
    summary: dict[str, int] = {}
    if report is not None:
        summary = report.plan.summary()
        actions = tuple(
            ActionRecord(
                o.address, o.action.value, o.status.value, mask_text(o.message), round(o.seconds, 3)
            )
            for o in (c for outcome in report.outcomes for c in per_call(outcome))
        )  # a maintain line keeps one record per call
        drift = drift_keys(report.plan)
        error = error or report.error
    value = CycleResult(result).value if result in set(CycleResult) else str(result)
    return CycleRecord(
        started_at=iso(started),
        finished_at=iso(finished),
        seconds=round(finished - started, 3),
        revision=revision,
        trigger=trigger,
        result=value,
        reason=(error.reason if error is not None else reason_of(value)).value,
        summary=summary,
        error=(mask_text(error.message) or None) if error is not None else None,
        actions=actions,
        drift=drift,
    )


__all__ = ["cycle_record", "failed_actions", "iso", "pending_addresses", "pending_by_kind"]
