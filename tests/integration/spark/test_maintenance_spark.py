"""Need-driven maintenance end to end: pyiceberg table of 40 small appends on a SQLite
catalog, real health read, plan, and real spark-submit jobs through the executor."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.table import Table

from reconciler.apply.executor import ExecutorOptions, execute
from reconciler.diff.maintenance import maintenance_noops, plan_maintenance
from reconciler.model.policies import (
    Compaction,
    MaintenancePolicy,
    ManifestRewrite,
    OrphanRemoval,
    SnapshotExpiry,
    Window,
)
from reconciler.model.tables import ColumnSpec, PrimitiveType, TableSpec
from reconciler.model.units import MIB
from reconciler.plan.change import Action, Plan
from reconciler.plan.maintenance_ops import expand_all
from reconciler.providers.iceberg.health import read_health
from reconciler.providers.spark.applier import SparkMaintenanceApplier
from reconciler.report.outcome import Status, per_call
from reconciler.settings import Settings, SparkSettings
from tests.integration.spark.spark_env import local_jars

pytestmark = pytest.mark.spark

# Each append is a snapshot, a manifest and a small file: the policy's thresholds are a
# quarter and a half of APPENDS, so every rule is due with a margin (a bigger lake only costs
# pyiceberg commits and expiry time).
APPENDS = 40
ROWS = 50
SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("amount", pa.float64()),
    ]
)
POLICY = MaintenancePolicy(
    name="test",
    compaction=Compaction(small_file_size=32 * MIB, min_small_files=APPENDS // 4),
    expire_snapshots=SnapshotExpiry(older_than=1, retain_last=5),
    remove_orphan_files=OrphanRemoval(older_than=86400),
    rewrite_manifests=ManifestRewrite(min_manifests=APPENDS // 2),
)


def batch(start: int, rows: int = ROWS) -> pa.Table:
    ids = list(range(start, start + rows))
    return pa.table(
        {"id": ids, "name": [f"n{i}" for i in ids], "amount": [i * 0.25 for i in ids]},
        schema=SCHEMA,
    )


def checksum(table: Table) -> tuple[int, int, str]:
    """(rows, distinct ids, digest of every value) of a full scan."""
    rows = sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["id"])
    digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
    return len(rows), len({r["id"] for r in rows}), digest


class Lake:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = root / "catalog.db"
        self.warehouse = (root / "warehouse").as_uri()
        (root / "warehouse").mkdir()
        self.props = {"type": "sql", "uri": f"sqlite:///{self.db}", "warehouse": self.warehouse}
        self.catalog = SqlCatalog("lake", **self.props)
        self.settings = Settings(
            config_file=None,
            specs=root,
            state_dir=root / "state",
            catalogs=(("lake", tuple(self.props.items())),),
            spark=SparkSettings(
                master="local[2]",
                jars=local_jars(),
                conf=(("spark.driver.memory", "1g"),),
                timeout=900.0,
            ),
        )
        self.spec = TableSpec(
            "lake",
            ("sales",),
            "events",
            fields=(ColumnSpec("id", PrimitiveType("long"), required=True),),
            policy="test",
        )

    def table(self) -> Table:
        return self.catalog.load_table("sales.events")

    def health(self, policy: MaintenancePolicy = POLICY) -> Any:
        return {self.spec.address: read_health(self.table(), self.spec.address, policy.compaction)}

    def plan(self, policy: MaintenancePolicy = POLICY, **kw: Any) -> Plan:
        now = kw.pop("now", datetime.now(UTC))
        return Plan(plan_maintenance([self.spec], {"test": policy}, self.health(policy), now, **kw))

    def apply(self, plan: Plan) -> Any:
        applier = SparkMaintenanceApplier(self.settings)
        applier.prepare(plan.changes)
        done = execute(plan, [applier], ExecutorOptions(parallelism=1))
        return tuple(call for o in done for call in per_call(o))  # each maintain line's calls


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    lake = Lake(tmp_path_factory.mktemp("lake"))
    lake.catalog.create_namespace("sales")
    table = lake.catalog.create_table(
        "sales.events",
        SCHEMA,
        properties={"format-version": "2", "write.parquet.compression-codec": "zstd"},
    )
    for i in range(APPENDS):
        table.append(batch(i * ROWS))
    yield lake


def test_window_closed_defers_with_next_start(lake: Lake) -> None:
    windowed = replace(POLICY, window=Window("0 2 * * *", 3600, "UTC"))
    now = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    plan = lake.plan(windowed, now=now)
    assert [c.action for c in plan.changes] == [Action.DEFERRED]
    assert "next window starts 2025-03-11T02:00+00:00" in plan.changes[0].reason
    assert (
        next(c.action for c in expand_all(lake.plan(windowed, now=now, ignore_window=True).changes))
        is Action.REWRITE_DATA_FILES
    )


def test_compaction_expiry_orphans_in_one_job(lake: Lake) -> None:
    before = checksum(lake.table())
    location = Path(lake.table().location().removeprefix("file://")) / "data"
    old_orphan, young_orphan = location / "orphan-old.parquet", location / "orphan-young.parquet"
    old_orphan.write_bytes(b"left by a failed write")
    young_orphan.write_bytes(b"a write still in progress")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old_orphan, (two_days_ago, two_days_ago))
    time.sleep(1.5)  # every append is now older than expiry's 1 s
    plan = lake.plan()
    assert [c.action for c in plan.changes] == [Action.MAINTAIN]  # one line for the table
    calls = expand_all(plan.changes)
    actions = [c.action for c in calls]
    assert actions == [
        Action.REWRITE_DATA_FILES,
        Action.REWRITE_MANIFESTS,
        Action.EXPIRE_SNAPSHOTS,
        Action.REMOVE_ORPHAN_FILES,
    ]
    assert plan.changes[0].reason.startswith(
        f"{APPENDS} data files under 32MiB; policy allows {APPENDS // 4}"
    )
    cutoff = datetime.fromisoformat(str(dict(calls[2].options)["older_than"]))

    outcomes = lake.apply(plan)

    assert [o.status for o in outcomes] == [Status.APPLIED] * 4, [o.message for o in outcomes]
    rewrite = dict(outcomes[0].result)
    assert rewrite["rewritten_data_files_count"] == APPENDS
    assert rewrite["added_data_files_count"] <= 2
    assert dict(outcomes[3].result)["orphan_files_count"] == 1
    table = lake.table()
    assert checksum(table) == before  # same rows, same values
    health = lake.health()[lake.spec.address]
    assert health.data_files <= 2
    # Nothing older than the cutoff survives beyond the newest retain_last snapshots.
    newest = sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms)[-5:]
    old = [
        s
        for s in table.metadata.snapshots
        if s.timestamp_ms < cutoff.timestamp() * 1000 and s not in newest
    ]
    assert old == [] and len(table.metadata.snapshots) == 5
    assert not old_orphan.exists() and young_orphan.exists()
    assert Path(str(dict(outcomes[0].result)["log_file"])).is_file()


def test_healthy_table_gets_no_line(lake: Lake) -> None:
    plan = lake.plan()
    assert plan.changes == ()
    noops = maintenance_noops([lake.spec], {"test": POLICY}, lake.health(), datetime.now(UTC))
    assert {address for address, _ in noops} == {lake.spec.address}
    assert any("no expiry needed" in reason for _, reason in noops)


APPENDER = textwrap.dedent("""
    import sys, time, pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog
    db, warehouse, start, count, done_file = sys.argv[1:6]
    catalog = SqlCatalog("lake", uri=f"sqlite:///{db}", warehouse=warehouse)
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string()),
                        pa.field("amount", pa.float64())])
    for n in range(int(count)):
        first = int(start) + n * 10
        ids = list(range(first, first + 10))
        data = pa.table({"id": ids, "name": [f"n{i}" for i in ids],
                         "amount": [i * 0.25 for i in ids]}, schema=schema)
        for attempt in range(20):
            try:
                catalog.load_table("sales.events").append(data)
                break
            except Exception as exc:  # database is locked / commit conflict: try again
                print("retry", attempt, type(exc).__name__, exc, flush=True)
                time.sleep(0.2)
        else:
            continue
        with open(done_file, "a") as out:
            out.write(f"{first}\\n")
        time.sleep(0.3)
""")


def test_no_rows_lost_when_appends_race_compaction(lake: Lake) -> None:
    table = lake.table()
    base = checksum(table)[0]
    for i in range(60):  # small files again, so compaction is due
        table.append(batch(1_000_000 + i * 10, 10))
    done_file = lake.root / "appended.txt"
    appender = subprocess.Popen(
        [
            sys.executable,
            "-c",
            APPENDER,
            str(lake.db),
            lake.warehouse,
            "2000000",
            "40",
            str(done_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        compaction_only = replace(
            POLICY, expire_snapshots=None, remove_orphan_files=None, rewrite_manifests=None
        )
        plan = lake.plan(compaction_only)
        assert [c.action for c in expand_all(plan.changes)] == [Action.REWRITE_DATA_FILES]
        outcomes = lake.apply(plan)
    finally:
        output = appender.communicate(timeout=300)[0].decode()
    assert appender.returncode == 0, output
    # A conflicting commit may fail (retried next cycle); losing or duplicating rows may not.
    assert outcomes[0].status in (Status.APPLIED, Status.FAILED), outcomes[0].message
    appended = done_file.read_text().split()
    rows, distinct, _ = checksum(lake.table())
    assert rows == distinct == base + 60 * 10 + len(appended) * 10
    ids = {r["id"] for r in lake.table().scan(selected_fields=("id",)).to_arrow().to_pylist()}
    assert all(int(first) + 9 in ids for first in appended)
