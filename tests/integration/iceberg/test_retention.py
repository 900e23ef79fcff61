"""Retention on a real SQLite catalog: the plan previews how many rows are past the age, the
applier deletes exactly those (rows straddling the cutoff inside one day partition included),
an earlier snapshot still holds every row, a recount far above the preview is refused, and the
preview counts back from the planning clock, not the wall clock."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from reconciler.apply.errors import PermanentError
from reconciler.diff.maintenance import assess_table
from reconciler.engine import RunOptions, apply_plan, make_full_plan
from reconciler.model.policies import MaintenancePolicy, Retention
from reconciler.plan.change import Action, Change
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.observe_health import observe_health
from reconciler.providers.iceberg.reader import table_owned
from reconciler.providers.iceberg.retention import RetentionApplier
from reconciler.report.outcome import Status
from reconciler.sources import load_desired
from reconciler.sources.config import default_settings
from reconciler.wiring import build_deps
from tests.integration.iceberg.table_helpers import converge, table_spec

EVENTS = """
apiVersion: reconciler/v1
kind: Table
metadata: {name: events}
spec:
  catalog: lake
  namespace: web
  name: events
  schema:
    - {name: id, type: long, required: true}
    - {name: event_ts, type: timestamptz, required: true}
  partitionBy:
    - {source: event_ts, transform: day}
  policy: keep
"""
SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("event_ts", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)
NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=90)  # 2026-09-03T06:00Z
POLICY = MaintenancePolicy("keep", retention=Retention("event_ts", 90 * 86400))


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Catalogs]:
    yield Catalogs({"lake": {"warehouse": (tmp_path / "warehouse").as_uri()}}, state_dir=tmp_path)


def _rows(start: int, count: int, first: datetime, step: timedelta) -> list[dict[str, Any]]:
    return [{"id": start + i, "event_ts": first + i * step} for i in range(count)]


def _checksum(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()


def _planned(lake: Catalogs) -> Change:
    spec = table_spec(EVENTS)
    health = observe_health(lake, (spec,), {"keep": POLICY}, now=NOW)
    (line,) = assess_table(spec, POLICY, health[spec.address], NOW).changes
    return line


def _applier(lake: Catalogs) -> RetentionApplier:
    spec = table_spec(EVENTS)
    return RetentionApplier(lake, lambda a: table_owned(lake, spec), clock=lambda: NOW)


def test_previewed_rows_are_deleted_exactly_and_time_travel_keeps_them(lake: Catalogs) -> None:
    converge(lake, (table_spec(EVENTS),))
    table = lake.get("lake").load_table(("web", "events"))
    old = _rows(0, 300, datetime(2026, 8, 1, tzinfo=UTC), timedelta(hours=2))  # to 08-25
    # One day partition straddles the cutoff: 05:00..05:59 are old, 06:00.. are not.
    edge_old = _rows(1000, 6, CUTOFF - timedelta(hours=1), timedelta(minutes=10))
    edge_new = _rows(2000, 6, CUTOFF, timedelta(minutes=10))
    new = _rows(3000, 200, datetime(2026, 10, 1, tzinfo=UTC), timedelta(hours=5))
    for batch in (old, edge_old + edge_new, new):
        table.append(pa.Table.from_pylist(batch, schema=SCHEMA))
    before = table.current_snapshot()
    assert before is not None
    expired = len(old) + len(edge_old)

    line = _planned(lake)
    assert line.action is Action.DELETE_EXPIRED_ROWS
    assert line.reason == f"{expired} rows with event_ts older than 90d (before 2026-09-03)"

    outcome = _applier(lake).apply(line)
    assert outcome.status is Status.APPLIED
    assert dict(outcome.result)["rows"] == expired

    table = lake.get("lake").load_table(("web", "events"))
    kept = table.scan().to_arrow()
    kept_ids = kept.column("id").to_pylist()
    assert len(kept_ids) == len(edge_new) + len(new)
    assert _checksum(kept_ids) == _checksum([r["id"] for r in edge_new + new])
    assert min(kept.column("event_ts").to_pylist()) == CUTOFF
    # One transaction: whole expired files dropped (delete), the straddling day's file
    # rewritten (overwrite); the snapshot before it still has every row until expiry.
    added = [
        s
        for s in table.metadata.snapshots
        if (s.sequence_number or 0) > (before.sequence_number or 0)
    ]
    assert sorted(str(s.summary.operation.value) for s in added if s.summary) == [
        "delete",
        "overwrite",
    ]
    assert table.scan(snapshot_id=before.snapshot_id).count() == len(old) + 12 + len(new)
    # Nothing is past the age any more: the next plan has no line.
    spec = table_spec(EVENTS)
    health = observe_health(lake, (spec,), {"keep": POLICY}, now=NOW)
    assert health[spec.address].expired_rows == 0
    assert assess_table(spec, POLICY, health[spec.address], NOW).changes == ()


def test_recount_far_above_the_preview_is_refused(lake: Catalogs) -> None:
    converge(lake, (table_spec(EVENTS),))
    table = lake.get("lake").load_table(("web", "events"))
    table.append(
        pa.Table.from_pylist(
            _rows(0, 20, datetime(2026, 8, 1, tzinfo=UTC), timedelta(hours=1)), schema=SCHEMA
        )
    )
    line = _planned(lake)
    table.append(
        pa.Table.from_pylist(
            _rows(100, 1100, datetime(2026, 7, 1, tzinfo=UTC), timedelta(minutes=1)), schema=SCHEMA
        )
    )
    with pytest.raises(PermanentError, match=r"1,120 rows .* the plan previewed 20 .*1,022"):
        _applier(lake).apply(line)
    assert lake.get("lake").load_table(("web", "events")).scan().count() == 1120
    # A table that is no longer ours is not touched either.
    table.transaction().remove_properties("reconciler.managed-by").commit_transaction()
    with pytest.raises(PermanentError, match="no longer owned"):
        _applier(lake).apply(replace(line))


KEEP = """
apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata: {name: keep}
spec:
  retention: {column: event_ts, deleteOlderThan: 90d}
"""


def test_the_preview_counts_back_from_the_planning_clock(tmp_path: Path) -> None:
    """A plan made at a fixed moment long past counts and states the cutoff of that moment:
    rows that only the wall clock would find old are neither counted nor deleted."""
    settings = default_settings(tmp_path)
    (settings.specs / "tables").mkdir(parents=True)
    (settings.specs / "tables" / "events.yaml").write_text(EVENTS)
    (settings.specs / "policies.yaml").write_text(KEEP)
    desired = load_desired(settings.specs).desired
    assert desired is not None
    lake = Catalogs({n: dict(p) for n, p in settings.catalogs}, state_dir=settings.state_dir)
    planned_at = datetime(2021, 6, 1, 6, 0, tzinfo=UTC)  # cutoff 2021-03-03T06:00Z
    deps = replace(build_deps(settings, lake, clock=lambda: planned_at), observe_containers=None)
    created = apply_plan(
        settings,
        make_full_plan(settings, desired, RunOptions(apply=True), deps),
        RunOptions(apply=True),
        deps,
    )
    assert not created.failed
    table = lake.get("lake").load_table(("web", "events"))
    old = _rows(0, 40, datetime(2021, 1, 1, tzinfo=UTC), timedelta(hours=12))  # to 01-20
    recent = _rows(100, 30, datetime(2021, 5, 1, tzinfo=UTC), timedelta(hours=12))  # old today
    table.append(pa.Table.from_pylist(old + recent, schema=SCHEMA))

    maintain = RunOptions(apply=True, maintenance_only=True, ignore_window=True)
    planned = make_full_plan(settings, desired, maintain, deps)
    (line,) = [c for c in planned.plan.changes if c.action is Action.DELETE_EXPIRED_ROWS]
    # The wall clock would count all 70 rows, before a cutoff in the current year.
    assert line.reason == "40 rows with event_ts older than 90d (before 2021-03-03)"

    report = apply_plan(settings, planned, maintain, deps)
    assert not report.failed, report.outcomes
    (done,) = [o for o in report.outcomes if o.action is Action.DELETE_EXPIRED_ROWS]
    assert dict(done.result) == {"rows": 40, "cutoff": "2021-03-03T06:00:00+00:00"}
    kept = lake.get("lake").load_table(("web", "events")).scan().to_arrow()
    assert sorted(kept.column("id").to_pylist()) == [r["id"] for r in recent]
