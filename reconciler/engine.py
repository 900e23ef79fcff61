"""One reconcile cycle as a straight pipeline: load specs, observe, plan, then render or apply.

Every failing step records a named reason in the CycleReport and returns; nothing here
talks to an SDK directly (wiring builds the providers behind `Deps`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from reconciler.apply.executor import ExecutorOptions, Listener, execute
from reconciler.apply.ports import Applier
from reconciler.diff.backoff import MaintenanceFailure
from reconciler.model.containers import ContainerSpec, DriftMode
from reconciler.model.desired import Desired
from reconciler.model.health import TableHealth
from reconciler.model.policies import MaintenancePolicy
from reconciler.model.tables import TableInventory, TableSpec
from reconciler.plan.change import MAINTENANCE_ACTIONS, Action, Change, Plan
from reconciler.report.outcome import CycleReport, Outcome
from reconciler.settings import Settings

if TYPE_CHECKING:  # the inventory type lives at the edge; the engine only passes it on
    from reconciler.observe.containers import ContainerInventory

log = structlog.get_logger("reconciler.engine")
HealthObserver = Callable[
    [Sequence[TableSpec], Mapping[str, MaintenancePolicy]], Mapping[str, TableHealth]
]


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


@dataclass(frozen=True)
class Deps:
    """The edge, as functions: built by wiring from Settings, replaceable in tests."""

    observe_containers: Callable[[Sequence[ContainerSpec]], ContainerInventory] | None = None
    observe_tables: Callable[[Sequence[TableSpec]], TableInventory] | None = None
    observe_health: HealthObserver | None = None
    appliers: Callable[[Desired, Plan], Sequence[Applier]] = lambda desired, plan: ()
    privileged_api: bool = False
    default_node: str = "pve"
    listener: Listener | None = None
    stop_requested: Callable[[], bool] = field(default=lambda: False)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Backoff state of failing maintenance (the store), read at plan and saved after apply.
    maintenance_failures: Callable[[], Mapping[str, MaintenanceFailure]] | None = None
    save_maintenance_failures: (
        Callable[[Sequence[MaintenanceFailure], Sequence[str]], None] | None
    ) = None


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
    items = list(desired.containers) + list(desired.tables)
    return {item.address: tuple(item.depends_on) for item in items}


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
    addresses = [item.address for item in (*desired.containers, *desired.tables)]
    return tuple(t for t in targets if not any(_targeted(a, (t,)) for a in addresses))


def _targeted(address: str, targets: tuple[str, ...]) -> bool:
    return any(
        address == t or address.endswith("/" + t) or address.endswith("." + t) for t in targets
    )


def _enforced(plan: Plan, desired: Desired) -> Plan:
    """Drift-timer cycles only self-heal specs in `enforce` mode; `warn` is reported only.
    Maintenance is health-driven, not drift, so it always runs."""
    modes = {item.address: item.drift for item in (*desired.containers, *desired.tables)}
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
            retries=settings.apply.retries,
            stop_requested=deps.stop_requested,
        ),
        deps.listener,
    )
    _record_maintenance(planned.desired, outcomes, deps)
    return CycleReport(plan=planned.plan, outcomes=outcomes, error=planned.error)


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


def reconcile_once(
    settings: Settings,
    specs_dir: Path | None = None,
    options: RunOptions | None = None,
    revision: str | None = None,
    deps: Deps | None = None,
) -> CycleReport:
    """Load, observe, plan and (with options.apply) apply; never raises for expected failures."""
    opts = options or RunOptions()
    started = time.monotonic()
    desired, error = load(specs_dir or settings.specs, settings)
    if desired is None:
        log.warning("cycle.rejected", revision=revision, error=error)
        return CycleReport(plan=Plan(), revision=revision, error=error)
    if deps is None:
        from reconciler.wiring import build_deps

        deps = build_deps(settings)
    try:
        planned = make_full_plan(settings, desired, opts, deps)
    except Exception as exc:  # an unreachable API or catalog: recorded, retried next cycle
        log.error("cycle.observe_failed", revision=revision, error=str(exc))
        return CycleReport(plan=Plan(), revision=revision, error=f"observe failed: {exc}")
    if planned.error:  # recorded as the cycle's failure; what could be read still applies
        log.error("cycle.observe_failed", revision=revision, error=planned.error)
    if not opts.apply:
        return CycleReport(plan=planned.plan, revision=revision, error=planned.error)
    report = apply_plan(settings, planned, opts, deps)
    log.info(
        "cycle.finished",
        revision=revision,
        seconds=round(time.monotonic() - started, 2),
        summary=planned.plan.summary(),
    )
    return replace(report, revision=revision)
