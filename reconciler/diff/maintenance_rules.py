"""Per-procedure maintenance rules: each reads one table's health against one policy rule
and returns the line due (its operation built from the displayed options) or why none is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from reconciler.diff.compaction_tuning import (
    Cluster,
    RewriteRun,
    describe_tuning,
    estimate,
    tune,
)
from reconciler.diff.maintenance_time import _aware, approx_bytes, format_duration, iso
from reconciler.model.health import TableHealth
from reconciler.model.policies import (
    Compaction,
    CompactionStrategy,
    ManifestRewrite,
    OrphanRemoval,
    PositionDeleteRewrite,
    Retention,
    SnapshotExpiry,
)
from reconciler.model.tables import SortField, TableSpec
from reconciler.model.units import format_bytes
from reconciler.plan.change import Action, Change, JSONScalar, JSONValue
from reconciler.plan.maintenance_ops import CallProcedure
from reconciler.plan.retention_ops import DeleteExpiredRows


def procedure_line(
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


def sort_order(sort_by: Sequence[SortField]) -> str | None:
    """Spark's sort_order argument for identity sorts; None: use the table's sort order."""
    if any(f.transform != "identity" for f in sort_by):
        return None
    return ", ".join(
        f"{f.source} {f.direction.value.upper()} NULLS {f.nulls.value.upper()}" for f in sort_by
    )


def compaction_verdict(
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
        elif (order := sort_order(table.sort_by)) is not None:
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
    return procedure_line(
        table.address, Action.REWRITE_DATA_FILES, reason, options, None, tuning.session_conf
    )


def manifests_verdict(table: TableSpec, rule: ManifestRewrite, health: TableHealth) -> Change | str:
    detail = (
        f"{health.manifests} manifests in the current snapshot; policy allows {rule.min_manifests}"
    )
    if health.manifests < rule.min_manifests:
        return detail + ": no manifest rewrite needed"
    return procedure_line(table.address, Action.REWRITE_MANIFESTS, detail, {})


def position_deletes_verdict(
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
    return procedure_line(table.address, Action.REWRITE_POSITION_DELETE_FILES, detail, options)


def retention_verdict(table: TableSpec, rule: Retention, health: TableHealth) -> Change | str:
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


def expiry_verdict(
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
    return procedure_line(table.address, Action.EXPIRE_SNAPSHOTS, reason, options, rule.older_than)


def orphans_verdict(
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
    return procedure_line(
        table.address, Action.REMOVE_ORPHAN_FILES, reason, options, rule.older_than
    )
