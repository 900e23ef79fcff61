"""Maintenance touches only tables we own: an unowned table (even one a spec names) gets a
conflict line and a note, never a Spark job - remove_orphan_files there could delete
someone else's files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa

from reconciler.engine import RunOptions, apply_plan, make_full_plan
from reconciler.model.tables import MANAGED_BY_PROPERTY
from reconciler.plan.change import MAINTENANCE_ACTIONS, Action
from reconciler.plan.maintenance_ops import expand
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.spark.applier import SparkMaintenanceApplier
from reconciler.report.outcome import Status
from reconciler.sources import load_desired
from reconciler.sources.config import default_settings
from reconciler.wiring import build_deps

SPECS = Path(__file__).resolve().parents[3] / "specs"
SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("topic", pa.string(), nullable=False),
        pa.field("partition", pa.int32(), nullable=False),
        pa.field("offset", pa.int64(), nullable=False),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


def test_unowned_tables_are_never_maintained(tmp_path: Path) -> None:
    settings = default_settings(tmp_path)
    desired = load_desired(SPECS).desired
    assert desired is not None
    catalogs = Catalogs({n: dict(p) for n, p in settings.catalogs}, state_dir=settings.state_dir)
    deps = replace(build_deps(settings, catalogs), observe_containers=None)
    apply_plan(
        settings,
        make_full_plan(settings, desired, RunOptions(apply=True), deps),
        RunOptions(apply=True),
        deps,
    )
    table = catalogs.get("lake").load_table(("raw", "kafka_events"))
    for batch in range(25):  # policy `hot` compacts from 20 small files
        table.append(
            pa.Table.from_pylist(
                [{"event_id": f"e{batch}", "topic": "t", "partition": 0, "offset": batch, "ts": 0}],
                schema=SCHEMA,
            )
        )
    owned = make_full_plan(settings, desired, RunOptions(), deps)
    maintain = [c for c in owned.plan.changes if c.action is Action.MAINTAIN]
    assert [c.address for c in maintain] == ["table/lake.raw.kafka_events"]
    assert Action.REWRITE_DATA_FILES in [c.action for c in expand(maintain[0])]

    with table.transaction() as tx:  # someone else takes the table over
        tx.remove_properties(MANAGED_BY_PROPERTY)
    planned = make_full_plan(settings, desired, RunOptions(), deps)
    lines = [(c.address, c.action) for c in planned.plan.changes]
    assert lines == [("table/lake.raw.kafka_events", Action.CONFLICT)]
    assert not any(c.action in MAINTENANCE_ACTIONS for c in planned.plan.changes)
    assert "not managed by the reconciler" in dict(planned.notes)["table/lake.raw.kafka_events"]

    # And if it changes hands between plan and apply, the job is not started.
    stale = maintain[0]
    asked: list[str] = []
    applier = SparkMaintenanceApplier(
        settings, still_owned=lambda address: asked.append(address) is not None
    )
    outcome = applier.apply(stale)  # the line's first call is refused: nothing runs
    assert outcome.status is Status.STALE and "no longer managed" in outcome.message
    assert asked == ["table/lake.raw.kafka_events"]  # re-read by the line's own address
