"""Backup planning with an injected clock: due after `every`, not due while the last backup is
young or holds the current snapshot, deferred outside the window, unknown when unlisted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler.diff.backup import assess_backup, plan_backups, span, wants_backup
from reconciler.model.backups import BackupListing, BackupRecord
from reconciler.model.health import TableHealth
from reconciler.model.policies import Backup, MaintenancePolicy, Window
from reconciler.model.tables import ColumnSpec, PrimitiveType, TableSpec
from reconciler.plan.backup_ops import ExportBackup
from reconciler.plan.change import Action, Change
from reconciler.plan.operations import (
    OperationDecodeError,
    decode_operations,
    encode_operations,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TABLE = TableSpec(
    "lake", ("sales",), "orders", (ColumnSpec("id", PrimitiveType("long")),), policy="daily"
)
RULE = Backup(target="s3://backups/lake", every=86400, keep_last=7)
POLICY = MaintenancePolicy(name="daily", backup=RULE)
HEALTH = TableHealth(TABLE.address, current_snapshot_id=42)


def _listing(age: timedelta, snapshot_id: int = 41) -> BackupListing:
    created = NOW - age
    record = BackupRecord(
        created.strftime("%Y%m%dT%H%M%SZ"), created, snapshot_id, 10, 100, "s3://x", "lake.s.o"
    )
    return BackupListing((record,))


def test_due_after_every_with_the_reason_in_hours() -> None:
    line = assess_backup(TABLE, POLICY, _listing(timedelta(hours=26)), HEALTH, NOW)
    assert isinstance(line, Change)
    assert line.action is Action.BACKUP
    assert line.reason.startswith("last backup 26 h ago; policy wants every 24 h")
    assert dict(line.options) == {"target": "s3://backups/lake", "keep_last": 7}
    assert line.preconditions == ()  # whatever snapshot is current when it runs
    [op] = line.operations
    assert op == ExportBackup("lake", ("sales",), "orders", "s3://backups/lake", 7)
    assert decode_operations(encode_operations(line.operations), "line") == (op,)  # saved plans


def test_first_backup_is_due_at_once() -> None:
    line = assess_backup(TABLE, POLICY, BackupListing(), HEALTH, NOW)
    assert isinstance(line, Change) and line.action is Action.BACKUP
    assert line.reason.startswith("no backup yet; policy wants one every 24 h")


def test_not_due_while_the_last_backup_is_young() -> None:
    reason = assess_backup(TABLE, POLICY, _listing(timedelta(hours=3)), HEALTH, NOW)
    assert reason == "last backup 3 h ago; policy wants every 24 h: no backup needed"


def test_not_due_when_the_last_backup_holds_the_current_snapshot() -> None:
    reason = assess_backup(TABLE, POLICY, _listing(timedelta(days=5), snapshot_id=42), HEALTH, NOW)
    assert reason == "last backup 5 d ago holds the current snapshot 42: no backup needed"


def test_deferred_outside_the_window_and_run_with_ignore_window() -> None:
    night = Window("0 1 * * *", 7200)
    policy = MaintenancePolicy(name="daily", backup=RULE, window=night)
    line = assess_backup(TABLE, policy, _listing(timedelta(hours=26)), HEALTH, NOW)
    assert isinstance(line, Change) and line.action is Action.DEFERRED
    assert "backup due (last backup 26 h ago; policy wants every 24 h)" in line.reason
    assert "next window starts 2026-03-11T01:00" in line.reason
    assert dict(line.options)["actions"] == ["backup"]
    forced = assess_backup(
        TABLE, policy, _listing(timedelta(hours=26)), HEALTH, NOW, ignore_window=True
    )
    assert isinstance(forced, Change) and forced.action is Action.BACKUP


def test_the_backup_window_overrides_the_policy_window() -> None:
    rule = Backup(target="file:///b", window=Window("0 11 * * *", 7200))  # open at 12:00
    policy = MaintenancePolicy(name="daily", backup=rule, window=Window("0 1 * * *", 3600))
    line = assess_backup(TABLE, policy, BackupListing(), HEALTH, NOW)
    assert isinstance(line, Change) and line.action is Action.BACKUP


def test_an_unreadable_target_is_unknown_not_silent() -> None:
    line = assess_backup(TABLE, POLICY, BackupListing(error="access denied"), HEALTH, NOW)
    assert isinstance(line, Change) and line.action is Action.UNKNOWN
    assert "could not be listed: access denied" in line.reason


def test_no_backup_section_and_empty_table() -> None:
    assert assess_backup(TABLE, MaintenancePolicy(name="daily"), None, HEALTH, NOW) is None
    empty = TableHealth(TABLE.address)
    assert assess_backup(TABLE, POLICY, None, empty, NOW) == (
        "table has no snapshot yet: nothing to back up"
    )


def test_plan_backups_collects_lines_and_notes() -> None:
    other = TableSpec("lake", ("sales",), "items", TABLE.fields, policy="daily")
    health = {
        TABLE.address: HEALTH,
        other.address: TableHealth(other.address, current_snapshot_id=7),
    }
    listings = {TABLE.address: _listing(timedelta(hours=1)), other.address: BackupListing()}
    changes, notes = plan_backups([TABLE, other], {"daily": POLICY}, health, listings, NOW)
    assert [(c.address, c.action) for c in changes] == [(other.address, Action.BACKUP)]
    assert notes == (
        (TABLE.address, "last backup 1 h ago; policy wants every 24 h: no backup needed"),
    )
    assert wants_backup([TABLE], {"daily": POLICY})
    assert not wants_backup([TABLE], {"daily": MaintenancePolicy(name="daily")})


def test_span() -> None:
    assert [span(s) for s in (5, 120, 3600 * 26, 86400 * 3)] == ["5 s", "2 min", "26 h", "3 d"]


def test_a_failing_backup_backs_its_table_off() -> None:
    from reconciler.diff.backoff import (
        MaintenanceFailure,
        apply_backoff,
        fingerprint,
        results,
    )

    [done] = results([(TABLE.address, Action.BACKUP, "failed", "access denied")])
    assert done.error == "backup: access denied"
    line = assess_backup(TABLE, POLICY, BackupListing(), HEALTH, NOW)
    assert isinstance(line, Change)
    failure = MaintenanceFailure(
        TABLE.address,
        1,
        "backup: access denied",
        NOW - timedelta(minutes=1),
        fingerprint(TABLE, POLICY),
    )
    current = {TABLE.address: fingerprint(TABLE, POLICY)}
    [held] = apply_backoff([line], {TABLE.address: failure}, current, NOW)
    assert held.action is Action.DEFERRED and dict(held.options)["actions"] == ["backup"]
    assert apply_backoff([line], {}, current, NOW) == (line,)


def test_the_operation_round_trips_with_credentials_and_refuses_bad_values() -> None:
    op = ExportBackup(
        "lake", ("a", "b"), "t", "s3://b/p", 2, "http://m:9000", "eu-west-1", "AK", "SK"
    )
    doc = op.to_dict()
    assert doc["access_key_id_env"] == "AK" and "session_token_env" not in doc
    assert decode_operations([doc], "line") == (op,)
    with pytest.raises(OperationDecodeError, match="keep_last is not a positive integer"):
        decode_operations([{**doc, "keep_last": 0}], "line")
