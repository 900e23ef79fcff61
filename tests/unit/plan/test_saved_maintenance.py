"""A saved plan with maintenance lines stays valid as the clock moves: the operations carry
the policy's age, the cutoff is computed when a line runs; a changed age is still stale."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from reconciler.diff.maintenance import plan_maintenance
from reconciler.model.health import SnapshotInfo, TableHealth
from reconciler.model.policies import MaintenancePolicy, OrphanRemoval, SnapshotExpiry
from reconciler.model.tables import TableSpec
from reconciler.plan.change import Action, Plan
from reconciler.plan.maintenance_ops import CallProcedure
from reconciler.plan.saved import SavedPlan, saved_from_dict, saved_to_json, stale_reason

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


def test_the_lines_carry_the_age_not_the_cutoff() -> None:
    plan = _plan(NOW)
    assert [c.action for c in plan.changes] == [
        Action.EXPIRE_SNAPSHOTS,
        Action.REMOVE_ORPHAN_FILES,
    ]
    expire = plan.changes[0].operations[0]
    assert isinstance(expire, CallProcedure)
    assert expire.older_than_seconds == 7 * 86400 and expire.pool == "p"
    assert dict(plan.changes[0].options)["older_than"] == "2026-03-03T12:00:00+00:00"  # display


def test_an_hour_later_the_saved_plan_still_applies() -> None:
    saved = _saved(_plan(NOW))
    later = _plan(NOW + timedelta(hours=1))
    assert (
        dict(later.changes[0].options)["older_than"]
        != dict(saved.plan.changes[0].options)["older_than"]
    )
    assert stale_reason(saved, later) is None


def test_a_changed_age_is_stale() -> None:
    saved = _saved(_plan(NOW))
    shorter = replace(POLICY, expire_snapshots=SnapshotExpiry(older_than=6 * 86400, retain_last=1))
    reason = stale_reason(saved, _plan(NOW, shorter))
    assert reason is not None and "expire_snapshots" in reason and "operations differ" in reason
