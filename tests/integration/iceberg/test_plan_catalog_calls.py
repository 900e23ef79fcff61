"""A plan costs one `load_table` per table, maintenance health included (the health read
reuses the observation's load), and a later plan never sees stale metadata."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa

from reconciler.engine import RunOptions, apply_plan, make_full_plan
from reconciler.sources import load_desired
from reconciler.sources.config import default_settings
from reconciler.testing.counting_catalogs import CountingCatalogs
from reconciler.wiring import build_deps

SPECS = Path(__file__).resolve().parents[3] / "specs"


def test_one_load_per_table_per_plan_and_fresh_metadata_next_time(tmp_path: Path) -> None:
    settings = default_settings(tmp_path)
    desired = load_desired(SPECS).desired
    assert desired is not None and desired.tables
    catalogs = CountingCatalogs(
        {n: dict(p) for n, p in settings.catalogs}, state_dir=settings.state_dir
    )
    deps = replace(build_deps(settings, catalogs), observe_containers=None)  # tables only
    created = make_full_plan(settings, desired, RunOptions(apply=True), deps)
    assert {c.action.value for c in created.plan.changes} == {"create"}
    apply_plan(settings, created, RunOptions(apply=True), deps)

    catalogs.calls.clear()
    planned = make_full_plan(settings, desired, RunOptions(), deps)
    assert planned.plan.changes == ()
    assert catalogs.calls["load_table"] == len(desired.tables)
    assert len(planned.notes) == len(desired.tables)  # every table's health was read

    table = catalogs.get("lake").load_table(("sales", "customers"))
    rows = pa.Table.from_pylist(
        [{"customer_id": 1}],
        schema=pa.schema([pa.field("customer_id", pa.int64(), nullable=False)]),
    )
    table.append(rows)
    later = make_full_plan(settings, desired, RunOptions(), deps)
    notes = dict(later.notes)
    assert "no snapshot" not in notes["table/lake.sales.customers"]
