"""retention: the policy through the real loader (a column that is not a date or timestamp
named by the table's file and line), the line it plans with its previewed row count, and the
operation a saved plan carries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from reconciler.diff.maintenance import assess_table
from reconciler.model.health import SnapshotInfo, TableHealth
from reconciler.model.policies import MaintenancePolicy, Retention
from reconciler.model.tables import TableSpec
from reconciler.plan.change import Action
from reconciler.plan.operations import decode_operations, encode_operations
from reconciler.plan.retention_ops import DeleteExpiredRows
from reconciler.providers.iceberg.retention import allowed_rows
from reconciler.sources import load_desired

POLICY = """apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata: {{name: keep}}
spec:
{body}
"""
TABLE_DOC = """apiVersion: reconciler/v1
kind: Table
metadata: {{name: events}}
spec:
  catalog: lake
  namespace: web
  name: events
  schema:
    - {{name: id, type: long}}
    - {{name: event_ts, type: {ts_type}}}
  policy: keep
"""
NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
TABLE = TableSpec("lake", ("web",), "events", fields=(), policy="keep")
RULE = Retention(column="event_ts", delete_older_than=90 * 86400)


def _load(tmp_path: Path, body: str, ts_type: str = "timestamptz") -> tuple[object, list[str]]:
    (tmp_path / "p.yaml").write_text(POLICY.format(body=body))
    (tmp_path / "t.yaml").write_text(TABLE_DOC.format(ts_type=ts_type))
    result = load_desired(tmp_path)
    policy = result.desired.policies[0] if result.desired is not None else None
    return policy, [str(e) for e in result.errors]


def _health(expired: int | None) -> TableHealth:
    return TableHealth(
        TABLE.address,
        data_files=3,
        snapshots=(SnapshotInfo(1, int(NOW.timestamp() * 1000)),),
        current_snapshot_id=1,
        expired_rows=expired,
        expired_before=None if expired is None else "2026-09-03T06:00:00+00:00",
    )


def test_policy_section_for_each_time_type(tmp_path: Path) -> None:
    for ts_type in ("date", "timestamp", "timestamptz"):
        policy, errors = _load(
            tmp_path, "  retention: {column: event_ts, deleteOlderThan: 90d}", ts_type
        )
        assert errors == [], (ts_type, errors)
        assert isinstance(policy, MaintenancePolicy) and policy.retention == RULE
    policy, errors = _load(tmp_path, "  rewriteManifests: {}")
    assert errors == [] and isinstance(policy, MaintenancePolicy) and policy.retention is None


def test_column_of_another_type_or_missing_names_the_table_file_and_line(
    tmp_path: Path,
) -> None:
    _, errors = _load(tmp_path, "  retention: {column: event_ts, deleteOlderThan: 90d}", "long")
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{tmp_path / 't.yaml'}:11"), errors
    assert "'event_ts', which is long" in errors[0] and "spec.policy" in errors[0]
    _, errors = _load(tmp_path, "  retention: {column: seen_at, deleteOlderThan: 90d}")
    assert len(errors) == 1 and errors[0].startswith(f"{tmp_path / 't.yaml'}:11"), errors
    assert "'seen_at', which this table does not have" in errors[0]


def test_bad_policy_input_names_file_line_and_field(tmp_path: Path) -> None:
    for body in (
        "  retention: {column: event_ts}",
        "  retention: {column: event_ts, deleteOlderThan: soon}",
        "  retention: {column: event_ts, deleteOlderThan: 0d}",
        "  retention: {column: 'event ts', deleteOlderThan: 90d}",
        "  retention: {column: event_ts, deleteOlderThan: 90d, where: x}",
    ):
        _, errors = _load(tmp_path, body)
        assert len(errors) == 1 and "spec.retention" in errors[0], (body, errors)
        assert errors[0].startswith(f"{tmp_path / 'p.yaml'}:5"), errors


def test_planned_with_the_previewed_count_first_and_not_at_zero() -> None:
    policy = MaintenancePolicy("keep", retention=RULE)
    (line,) = assess_table(TABLE, policy, _health(1204), NOW).changes
    assert line.action is Action.DELETE_EXPIRED_ROWS
    assert line.reason == "1,204 rows with event_ts older than 90d (before 2026-09-03)"
    (op,) = line.operations
    assert op == DeleteExpiredRows("lake", ("web",), "events", "event_ts", 90 * 86400, 1204)
    assert decode_operations(encode_operations(line.operations), "line") == line.operations
    none = assess_table(TABLE, policy, _health(0), NOW)
    assert none.changes == ()
    assert none.noops == (
        "no rows with event_ts older than 90d (before 2026-09-03): nothing to delete",
    )


def test_runs_before_compaction_in_the_tables_order() -> None:
    from reconciler.model.policies import ManifestRewrite

    policy = MaintenancePolicy("keep", retention=RULE, rewrite_manifests=ManifestRewrite(2))
    health = _health(5)
    health = TableHealth(**{**health.__dict__, "manifests": 8})
    actions = [c.action for c in assess_table(TABLE, policy, health, NOW).changes]
    assert actions == [Action.DELETE_EXPIRED_ROWS, Action.MAINTAIN]  # retention first


def test_margin_allows_late_rows_not_a_different_table() -> None:
    assert allowed_rows(0) == 1000
    assert allowed_rows(10_000) == 12_000
