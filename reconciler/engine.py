"""One reconcile cycle as a straight pipeline: load specs, observe, plan, then render or apply.

Every failing step records a named reason in the CycleReport and returns; nothing here
talks to an SDK directly (wiring builds the providers behind `Deps`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

import structlog

from reconciler.apply.executor import ExecutorOptions, execute
from reconciler.deps import Deps
from reconciler.diff.backoff import MaintenanceFailure
from reconciler.model.containers import ContainerSpec, DriftMode
from reconciler.model.desired import Desired
from reconciler.model.tables import TableInventory, TableSpec
from reconciler.plan.change import MAINTENANCE_ACTIONS, Action, Change, Plan
from reconciler.report.conditions import CycleError, Reason
from reconciler.report.outcome import CycleReport, Outcome
from reconciler.settings import Settings

log = structlog.get_logger("reconciler.engine")


@dataclass(frozen=True)
class RunOptions:
    apply: bool = False
    prune: bool = False
    allow_destructive: bool = False
    allow_restart: bool = False  # `apply --allow-restart`: reboot even where `restart` is manual
    drift_only: bool = False  # drift-timer cycle: apply only specs whose drift mode is enforce
    maintenance: bool = True  # include table maintenance lines
    maintenance_only: bool = False  # `reconcile maintain`
    ignore_window: bool = False  # `reconcile maintain --now`
    ignore_backoff: bool = False  # `reconcile maintain --retry`: try a failing table now
    targets: tuple[str, ...] = ()  # limit to these addresses (or table names)


class ObserveError(RuntimeError):
    """Reality could not be read completely; planning on part of it would mislead."""


@dataclass(frozen=True)
class Planned:
    desired: Desired
    plan: Plan
    notes: tuple[tuple[str, str], ...] = ()  # (address, reason) of healthy / noop resources
    errors: tuple[str, ...] = ()  # sources that could not be read (their lines: unknown)

    @property
    def error(self) -> str | None:
        """The named reason a cycle with unknown lines fails, or None."""
        return "observe failed: " + "; ".join(self.errors) if self.errors else None


def load(specs_dir: Path, settings: Settings | None = None) -> tuple[Desired | None, str | None]:
    """The specs, validated exactly as `reconcile validate` does (with `settings`: against the
    config's catalogs too)."""
    from reconciler.sources import load_desired, load_for

    result = load_desired(specs_dir) if settings is None else load_for(settings, specs_dir)
    if result.errors or result.desired is None:
        return None, "invalid specs:\n" + "\n".join(str(e) for e in result.errors)
    return result.desired, None


def _depends(desired: Desired) -> dict[str, tuple[str, ...]]:
    return {item.address: tuple(item.depends_on) for item in desired.resources}


def _unknown(specs: Sequence[ContainerSpec | TableSpec], why: str) -> list[Change]:
    return [Change(spec.address, Action.UNKNOWN, why) for spec in specs]


def _failures(deps: Deps) -> Mapping[str, MaintenanceFailure]:
    if deps.maintenance_failures is None:
        return {}
    try:
        return deps.maintenance_failures()
    except Exception as exc:  # a broken state dir must not stop the plan: no backoff then
        log.warning("backoff.unreadable", error=str(exc))
        return {}


def make_full_plan(
    settings: Settings, desired: Desired, options: RunOptions, deps: Deps
) -> Planned:
    """Observe everything the specs name and diff it; pure planning behind the observers.

    A source that cannot be read (PVE, one catalog) gives each of its resources an
    `unknown` line and an entry in `errors`; everything else is planned as usual."""
    from reconciler.diff.planner import make_plan

    changes: list[Change] = []
    notes: list[tuple[str, str]] = []
    errors: list[str] = []
    now = deps.clock()
    if not options.maintenance_only and deps.observe_containers is not None:
        from reconciler.diff.containers import PlanOptions, plan_containers

        try:
            inventory = deps.observe_containers(desired.containers)
        except Exception as exc:  # PVE unreachable: tables are still planned
            log.warning("observe.containers_failed", error=str(exc))
            errors.append(f"proxmox: {exc}")
            changes += _unknown(desired.containers, f"Proxmox VE could not be read: {exc}")
        else:
            changes += plan_containers(
                desired.containers,
                inventory.guests,
                inventory.observed,
                PlanOptions(
                    prune=options.prune and settings.apply.allow_prune,
                    max_deletions=settings.apply.max_deletions,
                    allow_destructive=options.allow_destructive,
                    privileged_api=deps.privileged_api,
                    default_node=deps.default_node,
                    allow_restart=options.allow_restart,
                    now=now,
                ),
            )
    tables_inventory = None
    if deps.observe_tables is not None and (desired.tables or settings.catalogs):
        from reconciler.diff.tables import unknown_tables

        try:
            tables_inventory = deps.observe_tables(desired.tables)
        except Exception as exc:  # no catalog could be read at all
            log.warning("observe.tables_failed", error=str(exc))
            names = sorted({t.catalog for t in desired.tables})
            tables_inventory = TableInventory(errors=tuple((n, str(exc)) for n in names))
        used = {t.catalog for t in desired.tables}
        # A plan that silently skipped unreadable tables would read "No changes.".
        errors += [f"catalog {n}: {e}" for n, e in tables_inventory.errors if n in used]
        changes += unknown_tables(desired.tables, tables_inventory.errors)
        if not options.maintenance_only:
            from reconciler.diff.tables import plan_tables

            changes += plan_tables(desired.tables, tables_inventory, options.allow_destructive)
    present: tuple[TableSpec, ...] = ()
    if tables_inventory is not None:  # maintain only tables that exist, are ours, and stay
        observed = {t.address: t for t in tables_inventory.tables}
        for spec in desired.tables:
            table = observed.get(spec.address)
            if table is not None and not spec.absent and not table.owned:
                notes.append(
                    (
                        spec.address,
                        "not maintained: the table is not managed by the "
                        "reconciler (adopt it first)",
                    )
                )
            elif table is not None and not spec.absent:
                present += (spec,)
    if options.maintenance and deps.observe_health is not None and present:
        from reconciler.diff.backoff import apply_backoff, fingerprints
        from reconciler.diff.maintenance import (
            guard_orphan_removal,
            maintenance_noops,
            plan_maintenance,
        )

        policies = {p.name: p for p in desired.policies}
        try:
            health = deps.observe_health(present, policies)
        except Exception as exc:  # table metadata unreadable after listing: no maintenance
            log.warning("observe.health_failed", error=str(exc))
            errors.append(f"table health: {exc}")
            changes += _unknown(present, f"table health could not be read: {exc}")
        else:
            due = plan_maintenance(
                present, policies, health, now, ignore_window=options.ignore_window
            )
            locations = (
                {t.address: t.location for t in tables_inventory.tables} if tables_inventory else {}
            )
            due, skipped = guard_orphan_removal(due, locations)
            if not options.ignore_backoff:
                due = apply_backoff(due, _failures(deps), fingerprints(present, policies), now)
            changes += due
            notes += skipped
            notes += maintenance_noops(present, policies, health, now)
    if options.targets:
        changes = [c for c in changes if _targeted(c.address, options.targets)]
        notes = [n for n in notes if _targeted(n[0], options.targets)]
        errors = errors if any(c.action is Action.UNKNOWN for c in changes) else []
    return Planned(desired, make_plan(changes, _depends(desired)), tuple(notes), tuple(errors))


def unmatched_targets(desired: Desired, targets: Sequence[str]) -> tuple[str, ...]:
    """Targets that name no spec: a typo must not read as "No changes."."""
    addresses = [item.address for item in desired.resources]
    return tuple(t for t in targets if not any(_targeted(a, (t,)) for a in addresses))


def _targeted(address: str, targets: tuple[str, ...]) -> bool:
    return any(
        address == t or address.endswith("/" + t) or address.endswith("." + t) for t in targets
    )


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
    outcomes = execute(
        plan,
        deps.appliers(planned.desired, plan),
        ExecutorOptions(
            parallelism=settings.apply.parallelism,
            stop_requested=deps.stop_requested,
        ),
        deps.listener,
    )
    _record_maintenance(planned.desired, outcomes, deps)
    return CycleReport(plan=planned.plan, outcomes=outcomes, error=_observe_error(planned))


def _record_maintenance(desired: Desired, outcomes: Sequence[Outcome], deps: Deps) -> None:
    """Failed maintenance starts (or extends) a table's backoff; success ends it."""
    from reconciler.diff.backoff import after, fingerprints, results

    if deps.save_maintenance_failures is None:
        return
    done = results((o.address, o.action, o.status.value, o.message) for o in outcomes)
    if not done:
        return
    previous = _failures(deps)
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
