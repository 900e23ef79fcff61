"""Drift figures count maintenance that is due as `health`, not as drift."""

from __future__ import annotations

from reconciler.daemon.record import pending_by_kind
from reconciler.plan.change import Action, Change, Plan
from reconciler.plan.maintenance_ops import fold
from reconciler.report.outcome import CycleReport, Outcome, Status


def test_health_is_counted_apart_from_drift() -> None:
    plan = Plan(
        (
            Change("container/minio", Action.UPDATE, "memory"),
            Change("container/kafka", Action.UPDATE, "cores"),
            Change("table/lake.sales.orders", Action.DEFERRED, "window closed"),
            *fold(
                (
                    Change("table/lake.raw.events", Action.REWRITE_DATA_FILES, "small files"),
                    Change("table/lake.raw.events", Action.EXPIRE_SNAPSHOTS, "old snapshots"),
                )
            ),
            Change("table/lake.sales.customers", Action.UPDATE, "doc"),
        )
    )
    report = CycleReport(plan, (Outcome("container/kafka", Action.UPDATE, Status.APPLIED),))
    assert pending_by_kind(report) == {"container": 1, "health": 2, "table": 1}
