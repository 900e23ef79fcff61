"""A table with a retention delete and a compaction, next to a table with a compaction only,
in one `maintain` run through the engine (make_full_plan, apply_plan) on real Spark: both
tables' Spark maintenance runs in ONE application, and the retention table's compaction
starts there only after its delete committed: it compacts the rows the delete left."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from reconciler.engine import RunOptions, apply_plan, make_full_plan
from reconciler.plan.change import Action
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.report.outcome import Status, per_call
from reconciler.settings import SparkSettings
from reconciler.sources import load_desired
from reconciler.sources.config import default_settings
from reconciler.wiring import build_deps
from tests.integration.spark.spark_env import local_jars

pytestmark = pytest.mark.spark

TABLE = """
apiVersion: reconciler/v1
kind: Table
metadata: {{name: {name}}}
spec:
  catalog: lake
  namespace: web
  name: {name}
  schema:
    - {{name: id, type: long, required: true}}
    - {{name: event_ts, type: timestamptz, required: true}}
  policy: {policy}
"""
POLICIES = """
apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata: {name: keep}
spec:
  retention: {column: event_ts, deleteOlderThan: 90d}
  compaction: {minSmallFiles: 10}
---
apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata: {name: compact}
spec:
  compaction: {minSmallFiles: 10}
"""
SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("event_ts", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)
APPENDS = 12


def _ids(catalogs: Catalogs, name: str) -> tuple[int, str]:
    ids = sorted(catalogs.get("lake").load_table(("web", name)).scan().to_arrow()["id"].to_pylist())
    return len(ids), hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()


def test_a_retention_tables_compaction_waits_for_its_delete_in_the_shared_application(
    tmp_path: Path,
) -> None:
    settings = default_settings(tmp_path)
    settings = replace(
        settings, spark=SparkSettings(master="local[2]", jars=local_jars(), timeout=600.0)
    )
    (settings.specs / "tables").mkdir(parents=True)
    for name, policy in (("events", "keep"), ("orders", "compact")):
        (settings.specs / "tables" / f"{name}.yaml").write_text(
            TABLE.format(name=name, policy=policy)
        )
    (settings.specs / "policies.yaml").write_text(POLICIES)
    desired = load_desired(settings.specs).desired
    assert desired is not None
    lake = Catalogs({n: dict(p) for n, p in settings.catalogs}, state_dir=settings.state_dir)
    deps = replace(build_deps(settings, lake), observe_containers=None)
    created = apply_plan(
        settings,
        make_full_plan(settings, desired, RunOptions(apply=True), deps),
        RunOptions(apply=True),
        deps,
    )
    assert not created.failed, created.outcomes
    now = datetime.now(UTC)
    for name in ("events", "orders"):
        table = lake.get("lake").load_table(("web", name))
        for i in range(APPENDS):  # one small file each, with old and recent rows
            rows = [{"id": i * 10 + n, "event_ts": now - timedelta(days=200)} for n in range(4)]
            rows += [{"id": i * 10 + n, "event_ts": now - timedelta(days=1)} for n in range(4, 10)]
            table.append(pa.Table.from_pylist(rows, schema=SCHEMA))
    orders_before = _ids(lake, "orders")

    maintain = RunOptions(apply=True, maintenance_only=True, ignore_window=True)
    planned = make_full_plan(settings, desired, maintain, deps)
    lines = [(c.address.rsplit(".", 1)[-1], c.action) for c in planned.plan.executable()]
    assert lines == [
        ("events", Action.DELETE_EXPIRED_ROWS),
        ("events", Action.MAINTAIN),
        ("orders", Action.MAINTAIN),
    ]
    report = apply_plan(settings, planned, maintain, deps)
    assert not report.failed, [(o.address, o.action, o.message) for o in report.outcomes]

    calls = [c for o in report.outcomes for c in per_call(o)]
    rewrites = {c.address: c for c in calls if c.action is Action.REWRITE_DATA_FILES}
    assert all(c.status is Status.APPLIED for c in rewrites.values())
    logs = {str(dict(c.result)["log_file"]) for c in rewrites.values()}
    assert len(logs) == 1 and "maintain-2-tables" in logs.pop()  # ONE application for both
    assert len(list((settings.state_dir / "spark" / "logs").glob("*.log"))) == 1

    events = lake.get("lake").load_table(("web", "events"))
    operations = [s.summary.operation.value for s in events.metadata.snapshots if s.summary]
    # The appends, the delete's rewrite of every file (old rows in each), then the compaction
    # of what it left: the replace comes after the delete.
    assert operations[:APPENDS] == ["append"] * APPENDS
    assert operations[-1] == "replace" and "overwrite" in operations[APPENDS:-1], operations
    assert _ids(lake, "events")[0] == APPENDS * 6  # only the recent rows
    assert _ids(lake, "orders") == orders_before
    current = events.current_snapshot()
    assert current is not None and current.summary is not None
    assert current.summary["total-data-files"] == "1"
