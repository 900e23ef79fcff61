"""Maintenance backoff with an injected clock: a failure defers the table's maintenance until
its next try, delays double up to the cap, success or a spec/policy change forgets it."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from reconciler.diff.backoff import (
    MAX_DELAY,
    MaintenanceFailure,
    MaintenanceResult,
    after,
    apply_backoff,
    backoff_delay,
    fingerprint,
    results,
)
from reconciler.model.policies import Compaction, MaintenancePolicy, Window
from reconciler.model.tables import ColumnSpec, PrimitiveType, TableSpec
from reconciler.plan.change import Action, Change

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TABLE = TableSpec(
    "lake", ("sales",), "events", (ColumnSpec("id", PrimitiveType("long")),), policy="hot"
)
POLICY = MaintenancePolicy(name="hot", compaction=Compaction())
A = TABLE.address
DUE = (
    Change(A, Action.REWRITE_DATA_FILES, "12 small files"),
    Change(A, Action.EXPIRE_SNAPSHOTS, "3 old snapshots"),
)
OTHER = Change("table/lake.sales.orders", Action.REWRITE_DATA_FILES, "9 small files")


def _fail(
    previous: MaintenanceFailure | None, at: datetime, error: str = "boom"
) -> MaintenanceFailure:
    record = after(previous, MaintenanceResult(A, error), at, fingerprint(TABLE, POLICY))
    assert record is not None
    return record


def _mine(changes: tuple[Change, ...]) -> Change:
    (line,) = [c for c in changes if c.address == A]
    return line


def _plan(
    failure: MaintenanceFailure | None, now: datetime, changes: tuple[Change, ...] = DUE
) -> tuple[Change, ...]:
    failures = {A: failure} if failure is not None else {}
    return apply_backoff((*changes, OTHER), failures, {A: fingerprint(TABLE, POLICY)}, now)


def test_a_failure_defers_the_table_until_its_next_try() -> None:
    failure = _fail(None, T0, "rewrite_data_files failed: Cannot use options [x]")
    assert failure.failures == 1 and failure.next_try == T0 + timedelta(minutes=5)
    deferred = _plan(failure, T0 + timedelta(minutes=4, seconds=59))
    mine = [c for c in deferred if c.address == A]
    assert [c.action for c in mine] == [Action.DEFERRED]
    assert mine[0].reason == (
        "rewrite_data_files, expire_snapshots due; backing off after 1 failure, next try at "
        "2026-03-10T12:05:00+00:00 (last error: rewrite_data_files failed: Cannot use options [x])"
    )
    options = dict(mine[0].options)
    assert options["actions"] == ["rewrite_data_files", "expire_snapshots"]
    assert options["backoff"] == {
        "failures": 1,
        "last_error": "rewrite_data_files failed: Cannot use options [x]",
        "last_attempt": "2026-03-10T12:00:00+00:00",
        "next_try": "2026-03-10T12:05:00+00:00",
    }
    assert OTHER in deferred  # another table is not held back
    assert _plan(failure, T0 + timedelta(minutes=5)) == (*DUE, OTHER)  # at T: due again


def test_delay_doubles_per_failure_up_to_the_cap() -> None:
    delays = [backoff_delay(n) for n in range(1, 10)]
    assert delays[:4] == [timedelta(minutes=m) for m in (5, 10, 20, 40)]
    assert delays[-1] == MAX_DELAY == timedelta(hours=6)
    assert all(b >= a for a, b in itertools.pairwise(delays))
    assert backoff_delay(1000) == MAX_DELAY
    record = None
    at = T0
    for _ in range(3):
        record = _fail(record, at)
        at = record.next_try
    assert record is not None and record.failures == 3
    assert record.next_try - record.last_attempt == timedelta(minutes=20)
    assert "backing off after 3 failures" in _mine(_plan(record, record.last_attempt)).reason


def test_success_resets_and_a_changed_spec_or_policy_forgets() -> None:
    failure = _fail(_fail(None, T0), T0 + timedelta(minutes=5))
    assert failure.failures == 2
    assert after(failure, MaintenanceResult(A, None), T0, fingerprint(TABLE, POLICY)) is None
    changed = fingerprint(TABLE, replace(POLICY, compaction=Compaction(min_small_files=5)))
    assert changed != fingerprint(TABLE, POLICY)
    assert apply_backoff(DUE, {A: failure}, {A: changed}, T0) == DUE
    moved = replace(TABLE, properties=(("write.format.default", "orc"),))
    assert fingerprint(moved, POLICY) != fingerprint(TABLE, POLICY)
    # A failure after a change starts counting again.
    restarted = after(failure, MaintenanceResult(A, "x"), T0, changed)
    assert restarted is not None and restarted.failures == 1


def test_a_window_deferral_names_the_backoff_too() -> None:
    failure = _fail(None, T0)
    window = Change(A, Action.DEFERRED, "rewrite_data_files due; outside the window")
    got = _mine(_plan(failure, T0, (window,)))
    assert got.action is Action.DEFERRED
    assert got.reason.startswith("rewrite_data_files due; outside the window; backing off")
    assert Window("0 2 * * *", 3600, "UTC")  # the window shape itself is diff/maintenance's


def test_results_fail_a_table_on_any_failed_line_and_ignore_skips() -> None:
    got = results(
        [
            (A, Action.REWRITE_DATA_FILES, "applied", "ok"),
            (A, Action.EXPIRE_SNAPSHOTS, "failed", "timeout after 900 s"),
            (A, Action.REMOVE_ORPHAN_FILES, "failed", "remove_orphan_files failed: later"),
            (OTHER.address, Action.REWRITE_DATA_FILES, "applied", "ok"),
            ("table/lake.x.y", Action.REWRITE_DATA_FILES, "skipped", "dependency"),
            ("container/hive", Action.UPDATE, "failed", "PVE said no"),
        ]
    )
    assert got == (
        MaintenanceResult(A, "expire_snapshots: timeout after 900 s"),
        MaintenanceResult(OTHER.address, None),
    )
    (named,) = results([(A, Action.REWRITE_DATA_FILES, "failed", "rewrite_data_files failed: x")])
    assert named.error == "rewrite_data_files failed: x"  # not named twice


def test_long_errors_are_shortened_in_the_reason() -> None:
    failure = _fail(None, T0, "Py4JJavaError\n" + "at org.apache.spark " * 100)
    reason = _mine(_plan(failure, T0)).reason
    assert "\n" not in reason and len(reason) < 500 and reason.endswith("…)")
