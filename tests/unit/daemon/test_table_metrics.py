"""Per-table gauges: figures of what a cycle observed, ages at scrape, removal with the specs."""

from __future__ import annotations

from reconciler.daemon.metrics import Metrics
from reconciler.daemon.table_metrics import CycleTables, TableMetrics
from reconciler.model.health import SnapshotInfo, TableHealth
from reconciler.plan.change import Action, Plan
from reconciler.report.conditions import CycleError, Reason
from reconciler.report.outcome import CycleReport, Outcome, Status
from reconciler.store import ActionRecord, CycleRecord

A, B = "table/lake.a.a", "table/lake.b.b"


def _samples(metrics: Metrics) -> dict[str, float]:
    out = {}
    for line in metrics.render().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def _health(address: str, files: int) -> TableHealth:
    return TableHealth(address, data_files=files, snapshots=(SnapshotInfo(1, 1_000_000),))


def test_gauges_follow_cycles_and_tables_leaving_the_specs() -> None:
    now = [2_000.0]
    metrics, tables = Metrics(), TableMetrics(lambda: now[0])
    metrics.register(tables)
    tables.seed(
        [
            CycleRecord(
                "2026-01-01T00:00:00+00:00",
                "2026-01-01T00:00:10+00:00",
                10.0,
                None,
                "poll",
                "success",
                actions=(ActionRecord(B, "expire_snapshots", "failed"),),
            )
        ]
    )
    seen = CycleTables(frozenset({A, B}), {A: _health(A, 3), B: _health(B, 1)})
    ran = Outcome(A, Action.REWRITE_DATA_FILES, Status.APPLIED)
    tables.finish(seen, CycleReport(Plan(), (ran,)), 1_500.0)
    got = _samples(metrics)
    assert got['reconciler_table_data_files{table="lake.a.a"}'] == 3
    assert got['reconciler_table_oldest_snapshot_age_seconds{table="lake.a.a"}'] == 1_000
    assert "reconciler_table_small_files{" not in metrics.render()  # not read: no sample
    key = '{procedure="rewrite_data_files",table="lake.a.a"}'
    assert got["reconciler_table_maintenance_last_success" + key] == 1
    assert got["reconciler_table_maintenance_last_timestamp_seconds" + key] == 1_500
    seeded = '{procedure="expire_snapshots",table="lake.b.b"}'
    assert got["reconciler_table_maintenance_last_success" + seeded] == 0
    now[0] = 2_600.0  # the age moves with the clock, between cycles
    assert (
        _samples(metrics)['reconciler_table_oldest_snapshot_age_seconds{table="lake.a.a"}'] == 1_600
    )

    failed = CycleReport(Plan(), error=CycleError(Reason.SPEC_INVALID, "bad"))
    tables.finish(CycleTables(), failed, 3_000.0)  # no observation: figures kept
    assert 'table="lake.b.b"' in metrics.render()
    tables.finish(CycleTables(frozenset({A}), {A: _health(A, 4)}), CycleReport(Plan()), 3_100.0)
    text = metrics.render()
    assert 'table="lake.b.b"' not in text  # left the specs: every series of it gone
    assert _samples(metrics)['reconciler_table_data_files{table="lake.a.a"}'] == 4
    tables.finish(CycleTables(), CycleReport(Plan()), 3_200.0)  # no tables at all any more
    assert 'table="' not in metrics.render()
