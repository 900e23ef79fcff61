"""One reconcile cycle as a straight pipeline: plan (engine.planning), then apply; the CLI
and the daemon both run `plan_once` then `apply_plan` (`reconcile_once` is the two).

Every failing step records a named reason in the CycleReport and returns; nothing here
talks to an SDK directly (wiring builds the providers behind `Deps`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

import structlog

from reconciler.apply.executor import ExecutorOptions, execute
from reconciler.apply.ports import Closing
from reconciler.deps import Deps
from reconciler.engine.planning import (
    Planned,
    RunOptions,
    load,
    make_full_plan,
    read_failures,
    unmatched_targets,
)
from reconciler.model.containers import DriftMode
from reconciler.model.desired import Desired
from reconciler.plan.change import MAINTENANCE_ACTIONS, Plan
from reconciler.report.conditions import CycleError, Reason
from reconciler.report.outcome import CycleReport, Outcome, per_call
from reconciler.settings import Settings

log = structlog.get_logger("reconciler.engine")


def _enforced(plan: Plan, desired: Desired) -> Plan:
    """Drift-timer cycles only self-heal specs in `enforce` mode; `warn` is reported only.
    Maintenance is health-driven, not drift, so it always runs."""
    modes = {item.address: item.drift for item in desired.resources}
    keep = tuple(
        c
        for c in plan.changes
        if c.action in MAINTENANCE_ACTIONS
        or modes.get(c.address, DriftMode.ENFORCE) is DriftMode.ENFORCE
    )
    return replace(plan, changes=keep)


def apply_plan(
    settings: Settings, planned: Planned, options: RunOptions, deps: Deps
) -> CycleReport:
    plan = _enforced(planned.plan, planned.desired) if options.drift_only else planned.plan
    appliers = deps.appliers(planned.desired, plan)
    try:
        outcomes = execute(
            plan,
            appliers,
            ExecutorOptions(
                parallelism=settings.apply.parallelism,
                stop_requested=deps.stop_requested,
            ),
            deps.listener,
        )
    finally:  # e.g. the shared Spark application: its tables never reached are withdrawn
        for applier in appliers:
            if isinstance(applier, Closing):
                applier.close()
    _record_maintenance(planned.desired, outcomes, deps)
    return CycleReport(plan=planned.plan, outcomes=outcomes, error=_observe_error(planned))


def _record_maintenance(desired: Desired, outcomes: Sequence[Outcome], deps: Deps) -> None:
    """Failed maintenance starts (or extends) a table's backoff; success ends it."""
    from reconciler.diff.backoff import after, fingerprints, results

    if deps.save_maintenance_failures is None:
        return
    calls = [c for o in outcomes for c in per_call(o)]  # a maintain line: each call
    done = results((o.address, o.action, o.status.value, o.message) for o in calls)
    if not done:
        return
    previous = read_failures(deps)
    current = fingerprints(desired.tables, {p.name: p for p in desired.policies})
    now = deps.clock()
    failed = []
    for result in done:
        record = after(previous.get(result.address), result, now, current.get(result.address, ""))
        if record is not None:
            failed.append(record)
            log.warning(
                "maintenance.backoff",
                address=record.address,
                failures=record.failures,
                next_try=record.next_try.isoformat(timespec="seconds"),
            )
    succeeded = [r.address for r in done if r.error is None and r.address in previous]
    try:
        deps.save_maintenance_failures(failed, succeeded)
    except Exception as exc:  # the applies happened; only the backoff state is lost
        log.error("backoff.unsaved", error=str(exc))


class NotPlanned(StrEnum):
    """Why a cycle stopped before it had a plan."""

    INVALID_SPECS = "invalid specs"
    UNMATCHED_TARGETS = "unmatched targets"
    OBSERVE_FAILED = "observe failed"


_NOT_PLANNED = {
    NotPlanned.INVALID_SPECS: Reason.SPEC_INVALID,
    NotPlanned.UNMATCHED_TARGETS: Reason.TARGETS_UNMATCHED,
    NotPlanned.OBSERVE_FAILED: Reason.OBSERVE_FAILED,
}


def _observe_error(planned: Planned) -> CycleError | None:
    """A plan made while a source could not be read is the cycle's failure."""
    return CycleError(Reason.OBSERVE_FAILED, planned.error) if planned.error else None


@dataclass(frozen=True)
class PlanResult:
    """The plan half of a cycle: `planned`, or the named reason and message why there is none."""

    planned: Planned | None = None
    reason: NotPlanned | None = None
    error: str | None = None


def plan_once(
    settings: Settings, specs_dir: Path | None, options: RunOptions, deps: Deps
) -> PlanResult:
    """Load and validate the specs, check the targets, observe and plan; never raises for
    expected failures (the CLI and the daemon share this, then `apply_plan`)."""
    desired, error = load(specs_dir or settings.specs, settings)
    if desired is None:
        return PlanResult(reason=NotPlanned.INVALID_SPECS, error=error)
    unknown = unmatched_targets(desired, options.targets)
    if unknown:
        return PlanResult(
            reason=NotPlanned.UNMATCHED_TARGETS, error=f"no spec matches {', '.join(unknown)}"
        )
    try:
        planned = make_full_plan(settings, desired, options, deps)
    except Exception as exc:  # an unreachable API or catalog: recorded, retried next cycle
        return PlanResult(reason=NotPlanned.OBSERVE_FAILED, error=f"observe failed: {exc}")
    return PlanResult(planned=planned)


def reconcile_once(
    settings: Settings,
    specs_dir: Path | None,
    options: RunOptions,
    revision: str | None,
    deps: Deps,
) -> CycleReport:
    """Plan, then (with options.apply) apply: the daemon's cycle and `drift`'s plan.

    `deps` is required: the real providers come from wiring.build_deps, never by default."""
    started = time.monotonic()
    result = plan_once(settings, specs_dir, options, deps)
    planned = result.planned
    if planned is None:
        if result.reason is NotPlanned.INVALID_SPECS:
            log.warning("cycle.rejected", revision=revision, error=result.error)
        else:
            log.error("cycle.observe_failed", revision=revision, error=result.error)
        failed = CycleError(
            _NOT_PLANNED[result.reason or NotPlanned.OBSERVE_FAILED], result.error or ""
        )
        return CycleReport(plan=Plan(), revision=revision, error=failed)
    if planned.error:  # recorded as the cycle's failure; what could be read still applies
        log.error("cycle.observe_failed", revision=revision, error=planned.error)
    if not options.apply:
        return CycleReport(plan=planned.plan, revision=revision, error=_observe_error(planned))
    report = apply_plan(settings, planned, options, deps)
    log.info(
        "cycle.finished",
        revision=revision,
        seconds=round(time.monotonic() - started, 2),
        summary=planned.plan.summary(),
    )
    return replace(report, revision=revision)
