"""A saved plan with maintenance lines stays valid as the clock moves: the operations carry
the policy's age, the cutoff is computed when a line runs; a changed age is still stale."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from reconciler.diff.maintenance import plan_maintenance
from reconciler.model.health import SnapshotInfo, TableHealth
from reconciler.model.policies import MaintenancePolicy, OrphanRemoval, SnapshotExpiry
from reconciler.model.tables import TableSpec
from reconciler.plan.change import Action, Plan
from reconciler.plan.maintenance_ops import CallProcedure, expand
from reconciler.plan.saved import (
    SavedPlan,
    SavedPlanError,
    saved_from_dict,
    saved_to_json,
    stale_reason,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TABLE = TableSpec("lake", ("sales",), "orders", fields=(), policy="p")
POLICY = MaintenancePolicy(
    name="p",
    expire_snapshots=SnapshotExpiry(older_than=7 * 86400, retain_last=1),
    remove_orphan_files=OrphanRemoval(older_than=3 * 86400),
)


def _health() -> dict[str, TableHealth]:
    day = 86400 * 1000
    snapshots = tuple(
        SnapshotInfo(i, int(NOW.timestamp() * 1000) - (20 - i) * day) for i in range(20)
    )
    return {
        TABLE.address: TableHealth(
            address=TABLE.address,
            data_files=1,
            total_bytes=1,
            records=1,
            manifests=1,
            snapshots=snapshots,
            current_snapshot_id=19,
        )
    }


def _plan(now: datetime, policy: MaintenancePolicy = POLICY) -> Plan:
    return Plan(plan_maintenance([TABLE], {"p": policy}, _health(), now))


def _saved(plan: Plan) -> SavedPlan:
    saved = SavedPlan(plan, None, "sha256:0", "2026-03-10T12:00:00Z", "test")
    return saved_from_dict(json.loads(saved_to_json(saved)))


def _older_than(plan: Plan) -> object:
    calls = dict(plan.changes[0].options)["calls"]
    assert isinstance(calls, list) and isinstance(calls[0], dict)
    options = calls[0]["options"]
    assert isinstance(options, dict)
    return options["older_than"]


def test_the_lines_carry_the_age_not_the_cutoff() -> None:
    plan = _plan(NOW)
    assert [c.action for c in plan.changes] == [Action.MAINTAIN]  # one line per table
    assert [c.action for c in expand(plan.changes[0])] == [
        Action.EXPIRE_SNAPSHOTS,
        Action.REMOVE_ORPHAN_FILES,
    ]
    expire, orphans = plan.changes[0].operations
    assert isinstance(expire, CallProcedure) and isinstance(orphans, CallProcedure)
    assert (expire.procedure, orphans.procedure) == ("expire_snapshots", "remove_orphan_files")
    assert expire.older_than_seconds == 7 * 86400 and expire.pool == "p"
    assert _older_than(plan) == "2026-03-03T12:00:00+00:00"  # display


def test_the_saved_plan_keeps_one_maintain_line_with_its_operations() -> None:
    plan = _plan(NOW)
    doc = json.loads(
        saved_to_json(SavedPlan(plan, None, "sha256:0", "2026-03-10T12:00:00Z", "test"))
    )
    (line,) = doc["changes"]
    assert line["action"] == "maintain" and doc["summary"] == {"maintain": 1}
    assert [op["procedure"] for op in line["operations"]] == [
        "expire_snapshots",
        "remove_orphan_files",
    ]
    assert [c["procedure"] for c in line["options"]["calls"]] == [
        "expire_snapshots",
        "remove_orphan_files",
    ]
    assert _saved(plan).plan == plan  # v2 round trip: the same line, operations and all


def test_an_hour_later_the_saved_plan_still_applies() -> None:
    saved = _saved(_plan(NOW))
    later = _plan(NOW + timedelta(hours=1))
    assert _older_than(later) != _older_than(saved.plan)
    assert stale_reason(saved, later) is None


def test_a_saved_plan_with_a_procedure_as_a_line_is_refused() -> None:
    doc = json.loads(
        saved_to_json(SavedPlan(_plan(NOW), None, "sha256:0", "2026-03-10T12:00:00Z", "test"))
    )
    doc["changes"][0]["action"] = "expire_snapshots"
    with pytest.raises(SavedPlanError, match="procedure call"):
        saved_from_dict(doc)


def test_a_changed_age_is_stale() -> None:
    saved = _saved(_plan(NOW))
    shorter = replace(POLICY, expire_snapshots=SnapshotExpiry(older_than=6 * 86400, retain_last=1))
    reason = stale_reason(saved, _plan(NOW, shorter))
    assert reason is not None and "expire_snapshots" in reason and "operations differ" in reason
