"""rewritePositionDeletes: the policy through the real loader (bad input named by file, line
and field), the line it plans, and the CALL the Spark job builder makes of it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from reconciler.diff.maintenance import assess_table
from reconciler.model.health import SnapshotInfo, TableHealth
from reconciler.model.policies import MaintenancePolicy, PositionDeleteRewrite
from reconciler.model.tables import TableSpec
from reconciler.plan.change import Action
from reconciler.plan.maintenance_ops import expand, procedure_of
from reconciler.providers.spark.procedures import procedure_call
from reconciler.providers.spark.runner import ActionResult
from reconciler.providers.spark.summary import describe
from reconciler.sources import load_desired

POLICY = """apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata: {{name: mor}}
spec:
{body}
"""
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TABLE = TableSpec("lake", ("sales",), "orders", fields=(), policy="mor")


def _load(tmp_path: Path, body: str) -> tuple[MaintenancePolicy | None, list[str]]:
    (tmp_path / "p.yaml").write_text(POLICY.format(body=body))
    result = load_desired(tmp_path)
    policy = result.desired.policies[0] if result.desired is not None else None
    return policy, [str(e) for e in result.errors]


def _health(delete_files: int, mergeable: int | None = None) -> TableHealth:
    return TableHealth(
        TABLE.address,
        data_files=3,
        delete_files=delete_files,
        mergeable_delete_files=mergeable,
        snapshots=(SnapshotInfo(1, int(NOW.timestamp() * 1000)),),
        current_snapshot_id=1,
    )


def test_policy_section_and_default(tmp_path: Path) -> None:
    policy, errors = _load(tmp_path, "  rewritePositionDeletes: {minDeleteFiles: 4}")
    assert errors == [] and policy is not None
    assert policy.rewrite_position_deletes == PositionDeleteRewrite(min_delete_files=4)
    policy, errors = _load(tmp_path, "  rewritePositionDeletes: {}")
    assert errors == [] and policy is not None
    assert policy.rewrite_position_deletes == PositionDeleteRewrite(min_delete_files=10)
    policy, errors = _load(tmp_path, "  rewriteManifests: {}")
    assert errors == [] and policy is not None and policy.rewrite_position_deletes is None


def test_bad_input_names_file_line_and_field(tmp_path: Path) -> None:
    for body in (
        "  rewritePositionDeletes: {minDeleteFiles: 1}",
        "  rewritePositionDeletes: {minDeleteFiles: many}",
        "  rewritePositionDeletes: {minDeletes: 3}",
    ):
        _, errors = _load(tmp_path, body)
        assert len(errors) == 1 and "spec.rewritePositionDeletes" in errors[0], (body, errors)
        assert errors[0].startswith(f"{tmp_path / 'p.yaml'}:5"), errors


def test_planned_from_the_trigger_and_called_with_its_options() -> None:
    policy = MaintenancePolicy("mor", rewrite_position_deletes=PositionDeleteRewrite(10))
    below = assess_table(TABLE, policy, _health(9), NOW)
    assert below.changes == ()
    assert below.noops == (
        "9 delete files in the current snapshot; policy rewrites from 10: "
        "no delete-file rewrite needed",
    )
    (line,) = assess_table(TABLE, policy, _health(12), NOW).changes
    assert line.action is Action.MAINTAIN
    assert [c.action for c in expand(line)] == [Action.REWRITE_POSITION_DELETE_FILES]
    assert line.reason == "12 delete files in the current snapshot; policy rewrites from 10"
    call = procedure_of(line.operations)
    assert call is not None and call.pool == "mor"
    assert procedure_call("lake", ("sales", "orders"), call, NOW).sql == (
        "CALL `lake`.system.rewrite_position_delete_files(table => '`sales`.`orders`', "
        "options => map('min-input-files', '2'))"
    )


def test_mergeable_count_decides_when_it_was_read() -> None:
    policy = MaintenancePolicy("mor", rewrite_position_deletes=PositionDeleteRewrite(10))
    scoped = assess_table(TABLE, policy, _health(40, 3), NOW)
    assert scoped.changes == ()
    assert scoped.noops == (
        "40 delete files in the current snapshot, 3 of them mergeable; policy rewrites from 10: "
        "no delete-file rewrite needed",
    )
    (line,) = assess_table(TABLE, policy, _health(40, 25), NOW).changes
    assert line.reason == (
        "40 delete files in the current snapshot, 25 of them mergeable; policy rewrites from 10"
    )
    (line,) = assess_table(TABLE, policy, _health(12, 12), NOW).changes
    assert line.reason == "12 delete files in the current snapshot; policy rewrites from 10"


def test_outcome_message_reads_the_result_row() -> None:
    row = (
        ("added_delete_files_count", 2),
        ("rewritten_bytes_count", 4096),
        ("rewritten_delete_files_count", 12),
    )
    done = ActionResult(Action.REWRITE_POSITION_DELETE_FILES, True, True, row, seconds=3.04)
    assert describe(done) == "rewrote 12 delete files into 2 (4096 bytes) in 3.0s"
