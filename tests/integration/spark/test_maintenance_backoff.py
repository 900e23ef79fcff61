"""A real maintenance failure (Spark refuses the policy's `where` filter) is recorded in the
state dir, and the next plans defer that table's maintenance until its backoff ends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog

from reconciler.daemon.status import status
from reconciler.engine import RunOptions, apply_plan, make_full_plan
from reconciler.model.desired import Desired
from reconciler.model.policies import Compaction, MaintenancePolicy
from reconciler.model.tables import ColumnSpec, PrimitiveType, TableSpec
from reconciler.model.units import MIB
from reconciler.plan.change import Action
from reconciler.report.drift import make_drift_report
from reconciler.report.outcome import Status
from reconciler.settings import Settings, SparkSettings
from reconciler.store import Store
from reconciler.wiring import build_deps
from tests.integration.spark.spark_env import local_jars

pytestmark = pytest.mark.spark

# Iceberg cannot bind the filter: a real, permanent error of the job, not of our code.
BROKEN = MaintenancePolicy(
    name="broken",
    compaction=Compaction(small_file_size=32 * MIB, min_small_files=2, where="no_such_column > 0"),
)


def test_a_failing_job_backs_off_across_plans(tmp_path: Path) -> None:
    props = {
        "type": "sql",
        "uri": f"sqlite:///{tmp_path / 'catalog.db'}",
        "warehouse": (tmp_path / "warehouse").as_uri(),
    }
    (tmp_path / "warehouse").mkdir()
    settings = Settings(
        config_file=None,
        specs=tmp_path,
        state_dir=tmp_path / "state",
        catalogs=(("lake", tuple(props.items())),),
        spark=SparkSettings(
            master="local[1]",
            jars=local_jars(),
            conf=(("spark.driver.memory", "1g"),),
            timeout=900.0,
        ),
    )
    spec = TableSpec(
        "lake",
        ("sales",),
        "events",
        (ColumnSpec("id", PrimitiveType("long"), required=True),),
        policy="broken",
    )
    desired = Desired(tables=(spec,), policies=(BROKEN,))
    now = datetime.now(UTC).replace(microsecond=0)
    deps = replace(build_deps(settings), observe_containers=None, clock=lambda: now)
    options = RunOptions(apply=True)

    created = apply_plan(settings, make_full_plan(settings, desired, options, deps), options, deps)
    assert [o.status for o in created.outcomes] == [Status.APPLIED], created.outcomes
    table = SqlCatalog("lake", **props).load_table("sales.events")
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False)])
    for start in range(0, 30, 10):
        table.append(pa.Table.from_pylist([{"id": i} for i in range(start, start + 10)], schema))

    planned = make_full_plan(settings, desired, options, deps)
    assert [c.action for c in planned.plan.changes] == [Action.MAINTAIN]
    failed = apply_plan(settings, planned, options, deps)
    assert [o.status for o in failed.outcomes] == [Status.FAILED], failed.outcomes

    record = Store(settings.state_dir).maintenance_failures()[spec.address]
    assert record.failures == 1 and record.last_attempt == now
    assert "no_such_column" in record.last_error, record.last_error

    again = make_full_plan(settings, desired, options, deps)  # a new cycle, same minute
    (line,) = again.plan.changes
    assert line.action is Action.DEFERRED and not again.plan.executable()
    assert line.reason.startswith(
        f"rewrite_data_files due; backing off after 1 failure, next try at "
        f"{record.next_try.isoformat(timespec='seconds')} (last error: "
    )
    (failing,) = status(settings)["failing_maintenance"]
    assert failing == {
        "address": spec.address,
        "failures": 1,
        "last_error": failing["last_error"],
        "last_attempt": now.isoformat(),
        "next_try": record.next_try.isoformat(),
    }
    (entry,) = make_drift_report(again.plan, [], {}, None, now.isoformat()).health
    assert entry.action == "deferred" and "backing off after 1 failure" in entry.reason
    # `maintain --now` opens windows, not the backoff; `--retry` does.
    now_only = replace(options, maintenance_only=True, ignore_window=True)
    assert [c.action for c in make_full_plan(settings, desired, now_only, deps).plan.changes] == [
        Action.DEFERRED
    ]
    retry = replace(now_only, ignore_backoff=True)
    assert [c.action for c in make_full_plan(settings, desired, retry, deps).plan.changes] == [
        Action.MAINTAIN
    ]
    later = replace(deps, clock=lambda: record.next_try)
    assert [c.action for c in make_full_plan(settings, desired, options, later).plan.changes] == [
        Action.MAINTAIN
    ]
    fixed = replace(BROKEN, compaction=Compaction(small_file_size=32 * MIB, min_small_files=2))
    desired_fixed = Desired(tables=(spec,), policies=(fixed,))
    assert [
        c.action for c in make_full_plan(settings, desired_fixed, options, deps).plan.changes
    ] == [Action.MAINTAIN]
