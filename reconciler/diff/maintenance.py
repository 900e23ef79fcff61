"""Need-driven maintenance lines from table health and policies; pure, never calls an API.

A healthy table contributes no line to the plan; why nothing is due is kept as
(address, reason) pairs for the drift report (`maintenance_noops`). A table's due Spark
procedures are ONE `maintain` line (plan.maintenance_ops.fold) whose operations are its
`CallProcedure`s in ACTION_ORDER (procedure, named arguments, options map, the age of
`older_than` relative to when it runs, the policy's pool); `options["calls"]` displays
each (`older_than` as the cutoff at plan time). Retention stays a line of its own, first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from reconciler.diff.compaction_tuning import Cluster, RewriteRun
from reconciler.diff.maintenance_rules import (
    compaction_verdict,
    expiry_verdict,
    manifests_verdict,
    orphans_verdict,
    position_deletes_verdict,
    retention_verdict,
)
from reconciler.diff.maintenance_rules import (
    expirable_snapshots as expirable_snapshots,
)
from reconciler.diff.maintenance_time import (
    approx_bytes as approx_bytes,
)
from reconciler.diff.maintenance_time import (
    window_is_open as window_is_open,
)
from reconciler.model.health import TableHealth
from reconciler.model.policies import MaintenancePolicy, Window
from reconciler.model.tables import TableSpec
from reconciler.plan.change import Action, Change, JSONValue
from reconciler.plan.maintenance_ops import CallProcedure, expand_all, fold

DEFAULT_CLUSTER = Cluster()

# Execution order within one table: compaction first so expiry can drop the files it
# replaced; orphans last so they see the final state.
ACTION_ORDER = (
    Action.DELETE_EXPIRED_ROWS,  # first: compaction then rewrites what is left
    Action.REWRITE_DATA_FILES,
    Action.REWRITE_POSITION_DELETE_FILES,
    Action.REWRITE_MANIFESTS,
    Action.EXPIRE_SNAPSHOTS,
    Action.REMOVE_ORPHAN_FILES,
)


@dataclass(frozen=True)
class Assessment:
    """One table's verdict: the lines due now (or deferred) and the reasons nothing is."""

    address: str
    changes: tuple[Change, ...] = ()
    noops: tuple[str, ...] = ()


def assess_table(
    table: TableSpec,
    policy: MaintenancePolicy,
    health: TableHealth | None,
    now: datetime,
    *,
    ignore_window: bool = False,
    cluster: Cluster = DEFAULT_CLUSTER,
    history: Sequence[RewriteRun] = (),
) -> Assessment:
    """What `policy` asks of one table now; `cluster` tunes compaction, `history` (the
    table's past rewrite_data_files runs) estimates its duration."""
    address = table.address
    if health is None:
        return Assessment(address, noops=("table does not exist yet: nothing to maintain",))
    if health.current_snapshot_id is None:
        return Assessment(address, noops=("table has no snapshot yet: nothing to maintain",))
    verdicts: list[Change | str] = []
    if policy.retention is not None:
        verdicts.append(retention_verdict(table, policy.retention, health))
    if policy.compaction is not None:
        verdicts.append(compaction_verdict(table, policy.compaction, health, cluster, history))
    if policy.rewrite_position_deletes is not None:
        verdicts.append(position_deletes_verdict(table, policy.rewrite_position_deletes, health))
    if policy.rewrite_manifests is not None:
        verdicts.append(manifests_verdict(table, policy.rewrite_manifests, health))
    if policy.expire_snapshots is not None:
        verdicts.append(expiry_verdict(table, policy.expire_snapshots, health, now))
    if policy.remove_orphan_files is not None:
        others_due = any(isinstance(v, Change) for v in verdicts)
        verdicts.append(orphans_verdict(table, policy.remove_orphan_files, health, now, others_due))
    due = [_pooled(v, policy) for v in verdicts if isinstance(v, Change)]
    noops = [v for v in verdicts if isinstance(v, str)]
    due.sort(key=lambda c: ACTION_ORDER.index(c.action))
    if due and policy.window is not None and not ignore_window:
        is_open, next_start = window_is_open(policy.window, now)
        if not is_open:
            return Assessment(
                address, (_deferred(address, policy.window, due, next_start),), tuple(noops)
            )
    return Assessment(address, fold(due), tuple(noops))


def _pooled(change: Change, policy: MaintenancePolicy) -> Change:
    """The policy is the table's scheduling group: its FAIR pool and concurrency limit."""
    ops = tuple(
        replace(op, pool=policy.name, pool_size=max(1, policy.max_concurrent_jobs))
        if isinstance(op, CallProcedure)
        else op
        for op in change.operations
    )
    return replace(change, operations=ops)


def _deferred(address: str, window: Window, due: Sequence[Change], next_start: datetime) -> Change:
    actions: list[JSONValue] = [c.action.value for c in due]
    reason = (
        f"{', '.join(c.action.value for c in due)} due ({'; '.join(c.reason for c in due)});"
        f" outside the window '{window.schedule}' {window.timezone}, next window starts "
        f"{next_start.isoformat(timespec='minutes')}"
    )
    options: dict[str, JSONValue] = {"actions": actions, "next_window": next_start.isoformat()}
    return Change(address, Action.DEFERRED, reason, options=tuple(options.items()))


def _assess_all(
    tables: Sequence[TableSpec],
    policies: Mapping[str, MaintenancePolicy],
    health: Mapping[str, TableHealth],
    now: datetime,
    ignore_window: bool,
    cluster: Cluster = DEFAULT_CLUSTER,
    history: Mapping[str, Sequence[RewriteRun]] | None = None,
) -> tuple[Assessment, ...]:
    result: list[Assessment] = []
    for table in sorted(tables, key=lambda t: t.address):
        if table.policy is None:
            continue
        policy = policies.get(table.policy)
        if policy is None:
            result.append(
                Assessment(table.address, noops=(f"maintenance policy {table.policy!r} not found",))
            )
            continue
        result.append(
            assess_table(
                table,
                policy,
                health.get(table.address),
                now,
                ignore_window=ignore_window,
                cluster=cluster,
                history=(history or {}).get(table.address, ()),
            )
        )
    return tuple(result)


def plan_maintenance(
    tables: Sequence[TableSpec],
    policies: Mapping[str, MaintenancePolicy],
    health: Mapping[str, TableHealth],
    now: datetime,
    *,
    ignore_window: bool = False,
    cluster: Cluster = DEFAULT_CLUSTER,
    history: Mapping[str, Sequence[RewriteRun]] | None = None,
) -> tuple[Change, ...]:
    """Maintenance lines, tables by address, actions in execution order; `ignore_window`
    is `reconcile maintain --now`; `cluster` and `history` (past rewrites by address) tune
    compaction and estimate its cost."""
    assessed = _assess_all(tables, policies, health, now, ignore_window, cluster, history)
    return tuple(c for a in assessed for c in a.changes)


def maintenance_noops(
    tables: Sequence[TableSpec],
    policies: Mapping[str, MaintenancePolicy],
    health: Mapping[str, TableHealth],
    now: datetime,
) -> tuple[tuple[str, str], ...]:
    """(address, reason) for every maintenance that is not due, for the drift report."""
    return tuple(
        (a.address, reason)
        for a in _assess_all(tables, policies, health, now, False)
        for reason in a.noops
    )


def select_tables(tables: Sequence[TableSpec], names: Sequence[str]) -> tuple[TableSpec, ...]:
    """`reconcile maintain TABLE...`: match an address, `catalog.ns.name` or `ns.name`."""
    if not names:
        return tuple(tables)
    wanted = set(names)
    return tuple(
        t for t in tables if wanted & {t.address, t.identifier, ".".join((*t.namespace, t.name))}
    )


def guard_orphan_removal(
    changes: Sequence[Change], locations: Mapping[str, str]
) -> tuple[tuple[Change, ...], tuple[tuple[str, str], ...]]:
    """Drop `remove_orphan_files` for a table whose location holds another table's files
    (they would look like orphans); `locations` maps every observed table address to its
    location. Returns the kept changes and a note for each line dropped."""
    kept: list[Change] = []
    notes: list[tuple[str, str]] = []
    for change in expand_all(changes):
        own = locations.get(change.address, "").rstrip("/") + "/"
        inner = sorted(
            a
            for a, loc in locations.items()
            if a != change.address and own != "/" and loc.rstrip("/").startswith(own)
        )
        if change.action is Action.REMOVE_ORPHAN_FILES and inner:
            notes.append(
                (
                    change.address,
                    "orphan-file removal skipped: the location also holds " + ", ".join(inner),
                )
            )
            continue
        kept.append(change)
    return fold(kept), tuple(notes)
