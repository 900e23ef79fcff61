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
from datetime import datetime, timedelta

from reconciler.diff.compaction_tuning import (
    Cluster,
    RewriteRun,
    describe_tuning,
    estimate,
    tune,
)
from reconciler.diff.maintenance_time import (
    _aware,
    format_duration,
    iso,
)
from reconciler.diff.maintenance_time import (
    approx_bytes as approx_bytes,
)
from reconciler.diff.maintenance_time import (
    window_is_open as window_is_open,
)
from reconciler.model.health import TableHealth
from reconciler.model.policies import (
    Compaction,
    CompactionStrategy,
    MaintenancePolicy,
    ManifestRewrite,
    OrphanRemoval,
    PositionDeleteRewrite,
    Retention,
    SnapshotExpiry,
    Window,
)
from reconciler.model.tables import SortField, TableSpec
from reconciler.model.units import format_bytes
from reconciler.plan.change import Action, Change, JSONScalar, JSONValue
from reconciler.plan.maintenance_ops import CallProcedure, expand_all, fold
from reconciler.plan.retention_ops import DeleteExpiredRows

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


def _line(
    address: str,
    action: Action,
    reason: str,
    options: Mapping[str, JSONValue],
    older_than_seconds: int | None = None,
    session_conf: tuple[tuple[str, str], ...] = (),
) -> Change:
    """A maintenance line: `options` as displayed, and the same call as its operation
    (hyphenated names go into the procedure's options map; `older_than` as an age)."""
    args: list[tuple[str, JSONScalar]] = []
    extra: list[tuple[str, str]] = []
    for key, value in options.items():
        if "-" in key:
            extra.append((key, str(value)))
        elif key != "older_than" and not isinstance(value, list | dict):
            args.append((key, value))
    call = CallProcedure(
        action.value,
        tuple(args),
        tuple(sorted(extra)),
        older_than_seconds,
        session_conf=session_conf,
    )
    return Change(address, action, reason, options=tuple(options.items()), operations=(call,))


def _sort_order(sort_by: Sequence[SortField]) -> str | None:
    """Spark's sort_order argument for identity sorts; None: use the table's sort order."""
    if any(f.transform != "identity" for f in sort_by):
        return None
    return ", ".join(
        f"{f.source} {f.direction.value.upper()} NULLS {f.nulls.value.upper()}" for f in sort_by
    )


def _compaction(
    table: TableSpec,
    rule: Compaction,
    health: TableHealth,
    cluster: Cluster,
    history: Sequence[RewriteRun],
) -> Change | str:
    size = format_bytes(rule.small_file_size)
    if health.small_files is None or health.small_file_size != rule.small_file_size:
        return (
            f"{health.data_files} data files averaging {approx_bytes(health.average_file_size)}:"
            f" too few or too large to reach the small-file trigger ({size}), no compaction"
        )
    small, total = health.small_files, health.data_files
    ratio = small / total if total else 0.0
    minimum = rule.min_small_files
    count_ok = small >= 2 and (minimum is None or small >= minimum)
    ratio_ok = rule.min_small_file_ratio is None or ratio >= rule.min_small_file_ratio
    limits = []
    if minimum is not None:
        limits.append(f"policy allows {minimum}")
    if rule.min_small_file_ratio is not None:
        limits.append(
            f"{ratio:.0%} of {total} files, policy allows {rule.min_small_file_ratio:.0%}"
        )
    groups = health.small_file_partitions  # 1 for an unpartitioned table: not worth saying
    where = f" in {groups} partitions" if groups is not None and groups > 1 else ""
    detail = f"{small} data files under {size}{where}; " + "; ".join(limits)
    if not (count_ok and ratio_ok):
        return detail + ": no compaction needed"
    options: dict[str, JSONValue] = {"strategy": rule.strategy.value}
    note = ""
    if rule.strategy is CompactionStrategy.SORT:
        if not table.sort_by:
            options["strategy"] = CompactionStrategy.BINPACK.value
            note = " (strategy sort, but the table has no sortBy: binpack)"
        elif (order := _sort_order(table.sort_by)) is not None:
            options["sort_order"] = order
    if rule.where:
        options["where"] = rule.where
    tuning = tune(rule, health, cluster, sort=options["strategy"] == CompactionStrategy.SORT.value)
    options.update(tuning.options)
    if tuning.session_conf:
        options["spark_conf"] = dict(tuning.session_conf)
    cost = estimate(rule, health, tuning, history)
    options["estimate"] = dict(cost.to_dict())
    reason = f"{detail}{note}; {cost.text()}; {describe_tuning(tuning, cluster)}"
    return _line(
        table.address, Action.REWRITE_DATA_FILES, reason, options, None, tuning.session_conf
    )


def _manifests(table: TableSpec, rule: ManifestRewrite, health: TableHealth) -> Change | str:
    detail = (
        f"{health.manifests} manifests in the current snapshot; policy allows {rule.min_manifests}"
    )
    if health.manifests < rule.min_manifests:
        return detail + ": no manifest rewrite needed"
    return _line(table.address, Action.REWRITE_MANIFESTS, detail, {})


def _position_deletes(
    table: TableSpec, rule: PositionDeleteRewrite, health: TableHealth
) -> Change | str:
    count, mergeable = health.delete_files, health.mergeable_delete_files
    detail = f"{count} delete files in the current snapshot"
    if mergeable is not None and mergeable != count:
        # Counted from the delete manifests: what the rewrite can merge, not one file per
        # data file (file-scoped deletes) or a lone file in its partition.
        detail += f", {mergeable} of them mergeable"
        count = mergeable
    detail += f"; policy rewrites from {rule.min_delete_files}"
    if count < rule.min_delete_files:
        return detail + ": no delete-file rewrite needed"
    # A partition's delete files are merged once it holds 2 of them (Iceberg's default
    # needs 5), so the rewrite does what the trigger counted.
    options: dict[str, JSONValue] = {"min-input-files": "2"}
    return _line(table.address, Action.REWRITE_POSITION_DELETE_FILES, detail, options)


def _retention(table: TableSpec, rule: Retention, health: TableHealth) -> Change | str:
    age = format_duration(rule.delete_older_than)
    count, before = health.expired_rows, health.expired_before
    if count is None or before is None:
        return f"rows with {rule.column} older than {age} were not counted: no retention delete"
    day = before[:10]
    if count == 0:
        return f"no rows with {rule.column} older than {age} (before {day}): nothing to delete"
    reason = f"{count:,} rows with {rule.column} older than {age} (before {day})"
    options: dict[str, JSONValue] = {
        "column": rule.column,
        "older_than": before,
        "rows": count,
    }
    op = DeleteExpiredRows(
        table.catalog, table.namespace, table.name, rule.column, rule.delete_older_than, count
    )
    return Change(
        table.address,
        Action.DELETE_EXPIRED_ROWS,
        reason,
        options=tuple(options.items()),
        operations=(op,),
    )


def expirable_snapshots(health: TableHealth, rule: SnapshotExpiry, now: datetime) -> int:
    """How many snapshots expiry would remove: older than the cutoff, beyond the newest
    `retain_last`, not the current one and not referenced by a branch or tag."""
    cutoff_ms = int((_aware(now) - timedelta(seconds=rule.older_than)).timestamp() * 1000)
    newest_first = sorted(health.snapshots, key=lambda s: s.timestamp_ms, reverse=True)
    kept = {s.snapshot_id for s in newest_first[: rule.retain_last]}
    kept |= health.ref_snapshot_ids
    if health.current_snapshot_id is not None:
        kept.add(health.current_snapshot_id)
    return sum(1 for s in newest_first if s.snapshot_id not in kept and s.timestamp_ms < cutoff_ms)


def _expiry(
    table: TableSpec, rule: SnapshotExpiry, health: TableHealth, now: datetime
) -> Change | str:
    if not health.gc_enabled:
        return "gc.enabled=false: expire_snapshots not run (Iceberg refuses it)"
    count = expirable_snapshots(health, rule, now)
    age = format_duration(rule.older_than)
    if count == 0:
        return (
            f"{health.snapshot_count} snapshots; none older than {age} beyond the last "
            f"{rule.retain_last}: no expiry needed"
        )
    reason = (
        f"{count} of {health.snapshot_count} snapshots older than {age} beyond the last "
        f"{rule.retain_last}; retain_last={rule.retain_last} is passed and snapshots "
        f"referenced by branches or tags are kept"
    )
    cutoff = _aware(now) - timedelta(seconds=rule.older_than)
    options: dict[str, JSONValue] = {"older_than": iso(cutoff), "retain_last": rule.retain_last}
    return _line(table.address, Action.EXPIRE_SNAPSHOTS, reason, options, rule.older_than)


def _orphans(
    table: TableSpec, rule: OrphanRemoval, health: TableHealth, now: datetime, others_due: bool
) -> Change | str:
    if not health.gc_enabled:
        return "gc.enabled=false: remove_orphan_files not run (Iceberg refuses it)"
    if not others_due:
        # Finding orphans costs a full listing of the table location, as much as removing
        # them; so it rides along with the table's other maintenance, in the same job.
        return "remove_orphan_files runs with the table's other maintenance: none due"
    age = format_duration(rule.older_than)
    reason = f"files older than {age} that no snapshot references, with the table's maintenance"
    if rule.dry_run:
        reason += " (dry run: listed, not deleted)"
    cutoff = _aware(now) - timedelta(seconds=rule.older_than)
    options: dict[str, JSONValue] = {"older_than": iso(cutoff), "dry_run": rule.dry_run}
    return _line(table.address, Action.REMOVE_ORPHAN_FILES, reason, options, rule.older_than)


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
        verdicts.append(_retention(table, policy.retention, health))
    if policy.compaction is not None:
        verdicts.append(_compaction(table, policy.compaction, health, cluster, history))
    if policy.rewrite_position_deletes is not None:
        verdicts.append(_position_deletes(table, policy.rewrite_position_deletes, health))
    if policy.rewrite_manifests is not None:
        verdicts.append(_manifests(table, policy.rewrite_manifests, health))
    if policy.expire_snapshots is not None:
        verdicts.append(_expiry(table, policy.expire_snapshots, health, now))
    if policy.remove_orphan_files is not None:
        others_due = any(isinstance(v, Change) for v in verdicts)
        verdicts.append(_orphans(table, policy.remove_orphan_files, health, now, others_due))
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
