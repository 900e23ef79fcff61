"""rewrite_position_delete_files on a real merge-on-read table: Spark's DELETE FROM writes
position delete files (format-version 2), the planner sees them pile up in the health it
reads, and the line goes through the Spark applier; rows identical by count and checksum.

Two JVMs in all (one to write the deletes, one to apply): Spark is expensive here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.table import Table

from reconciler.apply.executor import ExecutorOptions, execute
from reconciler.diff.maintenance import assess_table, plan_maintenance
from reconciler.model.policies import MaintenancePolicy, PositionDeleteRewrite
from reconciler.model.tables import ColumnSpec, PrimitiveType, TableSpec
from reconciler.plan.change import Action, Plan
from reconciler.plan.maintenance_ops import expand_all
from reconciler.providers.iceberg.health import read_health
from reconciler.providers.spark.applier import SparkMaintenanceApplier
from reconciler.providers.spark.jobs import catalog_conf
from reconciler.providers.spark.procedures import ProcedureCall
from reconciler.providers.spark.runner import run_table_job
from reconciler.report.outcome import Status, per_call
from reconciler.settings import Settings, SparkSettings
from tests.integration.spark.spark_env import local_jars

pytestmark = pytest.mark.spark

BATCHES = 2  # data files, each hit by every DELETE
ROWS = 500
DELETES = 4  # DELETE FROM statements, each writing its own position delete file(s)
SCHEMA = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string())])
POLICY = MaintenancePolicy(
    name="mor", rewrite_position_deletes=PositionDeleteRewrite(min_delete_files=DELETES)
)


def checksum(table: Table) -> tuple[int, str]:
    """(rows, digest of every value) of a full scan, deletes applied."""
    rows = sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["id"])
    return len(rows), hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def test_delete_files_pile_up_then_are_rewritten(tmp_path: Path) -> None:
    jars = local_jars()
    (tmp_path / "warehouse").mkdir()
    props = {
        "type": "sql",
        "uri": f"sqlite:///{tmp_path / 'catalog.db'}",
        "warehouse": (tmp_path / "warehouse").as_uri(),
    }
    catalog = SqlCatalog("lake", **props)
    catalog.create_namespace("sales")
    mor = {"format-version": "2", "write.delete.mode": "merge-on-read"}
    # Spark with Iceberg >= 1.8 writes file-scoped deletes and folds a data file's earlier
    # deletes into the next one: they pile up with partition-scoped writers (older engines,
    # this setting), which is what the rewrite is for. `sales.scoped` keeps the default.
    for name, granularity in (
        ("orders", {"write.delete.granularity": "partition"}),
        ("scoped", {}),
    ):
        table = catalog.create_table(f"sales.{name}", SCHEMA, properties={**mor, **granularity})
        for b in range(BATCHES):
            ids = list(range(b * ROWS, (b + 1) * ROWS))
            table.append(pa.table({"id": ids, "name": [f"n{i}" for i in ids]}, schema=SCHEMA))
    spark = SparkSettings(master="local[2]", jars=jars, timeout=900.0)
    settings = Settings(
        config_file=None,
        specs=tmp_path,
        state_dir=tmp_path / "state",
        catalogs=(("lake", tuple(props.items())),),
        spark=spark,
    )
    deletes = [
        ProcedureCall(Action.UNKNOWN, f"DELETE FROM `lake`.`sales`.`{name}` WHERE id % 10 = {k}")
        for name in ("orders", "scoped")
        for k in range(DELETES)
    ]
    written = run_table_job(
        spark, catalog_conf("lake", props), deletes, state_dir=settings.state_dir, app_name="mor"
    )
    assert all(r.ok for r in written.results), [r.error for r in written.results]
    expected_ids = [i for i in range(BATCHES * ROWS) if i % 10 >= DELETES]
    before = checksum(catalog.load_table("sales.orders"))
    assert before[0] == len(expected_ids)

    spec = TableSpec(
        "lake",
        ("sales",),
        "orders",
        fields=(ColumnSpec("id", PrimitiveType("long"), required=True),),
        policy="mor",
    )
    rule = POLICY.rewrite_position_deletes
    health = read_health(catalog.load_table("sales.orders"), spec.address, None, rule)
    assert health.delete_files == health.mergeable_delete_files == DELETES  # one partition
    # File-scoped deletes, one per data file: nothing to merge, no line every cycle.
    scoped_spec = replace(spec, name="scoped")
    scoped = read_health(
        catalog.load_table("sales.scoped"), scoped_spec.address, None, PositionDeleteRewrite(2)
    )
    assert (scoped.delete_files, scoped.mergeable_delete_files) == (BATCHES, 0)
    low = replace(POLICY, rewrite_position_deletes=PositionDeleteRewrite(2))
    verdict = assess_table(scoped_spec, low, scoped, datetime.now(UTC))
    assert verdict.changes == ()
    assert verdict.noops == (
        f"{BATCHES} delete files in the current snapshot, 0 of them mergeable; "
        "policy rewrites from 2: no delete-file rewrite needed",
    )
    plan = Plan(
        plan_maintenance([spec], {"mor": POLICY}, {spec.address: health}, datetime.now(UTC))
    )
    assert [c.action for c in plan.changes] == [Action.MAINTAIN]
    assert [c.action for c in expand_all(plan.changes)] == [Action.REWRITE_POSITION_DELETE_FILES]
    assert plan.changes[0].reason.startswith(
        f"{health.delete_files} delete files in the current snapshot; policy rewrites from 4"
    )

    applier = SparkMaintenanceApplier(settings)
    applier.prepare(plan.changes)
    outcomes = [
        c for o in execute(plan, [applier], ExecutorOptions(parallelism=1)) for c in per_call(o)
    ]

    assert [o.status for o in outcomes] == [Status.APPLIED], [o.message for o in outcomes]
    result = dict(outcomes[0].result)
    assert result["rewritten_delete_files_count"] == health.delete_files
    # Written at the table's delete granularity: one file for the (only) partition.
    assert result["added_delete_files_count"] == 1 < health.delete_files
    assert "delete files into" in outcomes[0].message
    after_table = catalog.load_table("sales.orders")
    after = read_health(after_table, spec.address, None, rule)
    assert after.delete_files == result["added_delete_files_count"] < health.delete_files
    assert checksum(after_table) == before  # same rows, same values
    # Below the trigger now: the next plan has nothing for the table.
    assert plan_maintenance([spec], {"mor": POLICY}, {spec.address: after}, datetime.now(UTC)) == ()
