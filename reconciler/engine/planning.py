"""The plan half of a cycle: load the specs, observe what they name through `Deps`, diff;
the only I/O is behind the observers (wiring builds them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog

from reconciler.deps import Deps
from reconciler.diff.backoff import MaintenanceFailure
from reconciler.diff.compaction_tuning import Cluster, RewriteRun, cluster_of
from reconciler.model.backups import BackupListing
from reconciler.model.containers import ContainerSpec
from reconciler.model.desired import Desired
from reconciler.model.health import TableHealth
from reconciler.model.policies import MaintenancePolicy
from reconciler.model.tables import TableInventory, TableSpec
from reconciler.plan.change import Action, Change, Plan
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


def read_failures(deps: Deps) -> Mapping[str, MaintenanceFailure]:
    if deps.maintenance_failures is None:
        return {}
    try:
        return deps.maintenance_failures()
    except Exception as exc:  # a broken state dir must not stop the plan: no backoff then
        log.warning("backoff.unreadable", error=str(exc))
        return {}


def read_rewrite_history(deps: Deps) -> Mapping[str, Sequence[RewriteRun]]:
    if deps.rewrite_history is None:
        return {}
    try:
        return deps.rewrite_history()
    except Exception as exc:  # a broken state dir must not stop the plan: no estimates then
        log.warning("history.unreadable", error=str(exc))
        return {}


def cluster_for(settings: Settings) -> Cluster:
    """What compaction is tuned for: the `spark:` config's cores and partial-progress size."""
    spark = settings.spark
    return cluster_of(spark.master, dict(spark.conf), spark.cores, spark.partial_progress_size)


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
            if desired.containers or options.prune:
                log.warning("observe.containers_failed", error=str(exc))
                errors.append(f"proxmox: {exc}")
                changes += _unknown(desired.containers, f"Proxmox VE could not be read: {exc}")
            else:
                # As a catalog no spec uses: nothing is desired there, so no failure (a
                # tables-only tree needs no Proxmox secret); --prune still needs the read.
                log.warning(
                    "observe.containers_skipped",
                    error=str(exc),
                    reason="no Container specs; owned containers without a spec not checked",
                )
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
            from reconciler.engine.provisioning import with_provisioning

            changes = with_provisioning(deps, desired, changes)
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
            health = deps.observe_health(present, policies, now)
        except Exception as exc:  # table metadata unreadable after listing: no maintenance
            log.warning("observe.health_failed", error=str(exc))
            errors.append(f"table health: {exc}")
            changes += _unknown(present, f"table health could not be read: {exc}")
        else:
            due = plan_maintenance(
                present,
                policies,
                health,
                now,
                ignore_window=options.ignore_window,
                cluster=cluster_for(settings),
                history=read_rewrite_history(deps),
            )
            locations = (
                {t.address: t.location for t in tables_inventory.tables} if tables_inventory else {}
            )
            due, skipped = guard_orphan_removal(due, locations)
            if not options.ignore_backoff:
                due = apply_backoff(due, read_failures(deps), fingerprints(present, policies), now)
            changes += due
            notes += skipped
            notes += maintenance_noops(present, policies, health, now)
            changes, notes = _with_backups(
                deps, present, policies, health, now, options, changes, notes
            )
    if options.targets:
        changes = [c for c in changes if _targeted(c.address, options.targets)]
        notes = [n for n in notes if _targeted(n[0], options.targets)]
        errors = errors if any(c.action is Action.UNKNOWN for c in changes) else []
    return Planned(desired, make_plan(changes, _depends(desired)), tuple(notes), tuple(errors))


def _with_backups(
    deps: Deps,
    present: Sequence[TableSpec],
    policies: Mapping[str, MaintenancePolicy],
    health: Mapping[str, TableHealth],
    now: datetime,
    options: RunOptions,
    changes: list[Change],
    notes: list[tuple[str, str]],
) -> tuple[list[Change], list[tuple[str, str]]]:
    """Backup lines of policies with `backup:`, from the backups listed on their targets."""
    from reconciler.diff.backup import plan_backups, wants_backup

    if deps.observe_backups is None or not wants_backup(present, policies):
        return changes, notes
    try:
        listings = deps.observe_backups(present, policies)
    except Exception as exc:  # every target unreadable: the tables' backups are unknown
        log.warning("observe.backups_failed", error=str(exc))
        listings = {t.address: BackupListing(error=str(exc)) for t in present}
    due, why = plan_backups(
        present, policies, health, listings, now, ignore_window=options.ignore_window
    )
    if not options.ignore_backoff:
        from reconciler.diff.backoff import apply_backoff, fingerprints

        due = apply_backoff(due, read_failures(deps), fingerprints(present, policies), now)
    return changes + list(due), notes + list(why)


def unmatched_targets(desired: Desired, targets: Sequence[str]) -> tuple[str, ...]:
    """Targets that name no spec: a typo must not read as "No changes."."""
    addresses = [item.address for item in desired.resources]
    return tuple(t for t in targets if not any(_targeted(a, (t,)) for a in addresses))


def _targeted(address: str, targets: tuple[str, ...]) -> bool:
    return any(address == t or address.endswith(("/" + t, "." + t)) for t in targets)
