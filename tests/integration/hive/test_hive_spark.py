"""Spark 4 + Iceberg 1.10 on the same Hive Metastore as pyiceberg: need-driven maintenance
through the reconciler's Spark runner keeps every row; each engine reads the other's commits."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pytest
from pyiceberg.table import Table

from reconciler.apply.executor import ExecutorOptions, execute
from reconciler.diff.maintenance import plan_maintenance
from reconciler.model.policies import (
    Compaction,
    MaintenancePolicy,
    ManifestRewrite,
    OrphanRemoval,
    SnapshotExpiry,
)
from reconciler.model.tables import ColumnSpec, PrimitiveType, TableSpec
from reconciler.model.units import MIB
from reconciler.plan.change import Action, Plan
from reconciler.plan.maintenance_ops import expand_all
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.health import read_health
from reconciler.providers.spark.applier import SparkMaintenanceApplier
from reconciler.providers.spark.runner import job_env
from reconciler.report.outcome import Status, per_call
from reconciler.settings import Settings, SparkSettings
from tests.integration.spark.spark_env import local_jars

pytestmark = pytest.mark.spark

APPENDS = 30
SCHEMA = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string())])
POLICY = MaintenancePolicy(
    name="test",
    compaction=Compaction(small_file_size=32 * MIB, min_small_files=20),
    expire_snapshots=SnapshotExpiry(older_than=1, retain_last=3),
    remove_orphan_files=OrphanRemoval(older_than=86400),
    rewrite_manifests=ManifestRewrite(min_manifests=20),
)
SCRIPT = Path(__file__).with_name("spark_hive.py")


def batch(start: int, rows: int = 10) -> pa.Table:
    ids = list(range(start, start + rows))
    return pa.table({"id": ids, "name": [f"n{i}" for i in ids]}, schema=SCHEMA)


def checksum(table: Table) -> tuple[int, str]:
    rows = sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["id"])
    return len(rows), hashlib.sha256(json.dumps(rows).encode()).hexdigest()


class HiveLake:
    def __init__(self, root: Path, uri: str) -> None:
        self.uri = uri
        self.props = {
            "type": "hive",
            "uri": uri,
            "warehouse": (root / "wh").as_uri(),
            "hive.metastore.client.socket.timeout": "120",  # also handed to Spark
        }
        self.catalogs = Catalogs({"lake": self.props}, root)
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
            ("hsales",),
            "events",
            fields=(ColumnSpec("id", PrimitiveType("long"), required=True),),
            policy="test",
        )

    def table(self) -> Table:
        return self.catalogs.get("lake").load_table("hsales.events")

    def plan(self) -> Plan:
        health = {
            self.spec.address: read_health(self.table(), self.spec.address, POLICY.compaction)
        }
        return Plan(plan_maintenance([self.spec], {"test": POLICY}, health, datetime.now(UTC)))

    def spark(self, *statements: str) -> list[Any]:
        env = job_env(os.environ)  # as the reconciler's own jobs get it (no Connect markers)
        done = subprocess.run(
            [sys.executable, str(SCRIPT), self.uri, ",".join(local_jars()), *statements],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        (line,) = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
        result: list[Any] = json.loads(line[len("RESULT ") :])
        return result


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, hms_uri: str) -> Iterator[HiveLake]:
    root = tmp_path_factory.mktemp("hivelake")
    lake = HiveLake(root, hms_uri)
    catalog = lake.catalogs.get("lake")
    if catalog.table_exists("hsales.events"):
        catalog.drop_table("hsales.events")
    catalog.create_namespace_if_not_exists(
        "hsales", {"location": (root / "wh" / "hsales").as_uri()}
    )
    table = catalog.create_table("hsales.events", SCHEMA, properties={"format-version": "2"})
    for i in range(APPENDS):
        table.append(batch(i * 10))
    yield lake
    catalog.drop_table("hsales.events")
    catalog.drop_namespace("hsales")


def test_maintenance_through_spark_on_the_metastore_keeps_rows(lake: HiveLake) -> None:
    before = checksum(lake.table())
    assert before[0] == APPENDS * 10
    data = Path(urlparse(lake.table().location()).path) / "data"
    orphan = data / "orphan-old.parquet"
    orphan.write_bytes(b"left by a failed write")
    two_days_ago = time.time() - 2 * 86400
    os.utime(orphan, (two_days_ago, two_days_ago))
    time.sleep(1.5)  # every append is older than expiry's 1 s
    plan = lake.plan()
    assert [c.action for c in plan.changes] == [Action.MAINTAIN]  # one line for the table
    assert [c.action for c in expand_all(plan.changes)] == [
        Action.REWRITE_DATA_FILES,
        Action.REWRITE_MANIFESTS,
        Action.EXPIRE_SNAPSHOTS,
        Action.REMOVE_ORPHAN_FILES,
    ]
    applier = SparkMaintenanceApplier(lake.settings)
    applier.prepare(plan.changes)
    outcomes = [
        c for o in execute(plan, [applier], ExecutorOptions(parallelism=1)) for c in per_call(o)
    ]
    assert [o.status for o in outcomes] == [Status.APPLIED] * 4, [o.message for o in outcomes]
    assert dict(outcomes[0].result)["rewritten_data_files_count"] == APPENDS
    assert dict(outcomes[3].result)["orphan_files_count"] == 1
    table = lake.table()
    assert checksum(table) == before
    assert len(table.metadata.snapshots) <= 3
    assert len(list(table.scan().plan_files())) <= 2
    assert not orphan.exists()
    assert lake.plan().changes == ()


def test_spark_and_pyiceberg_read_each_others_commits(lake: HiveLake) -> None:
    rows, _ = checksum(lake.table())
    lake.table().append(batch(10_000, rows=5))  # pyiceberg commit, then Spark's on top
    counts = lake.spark(
        "SELECT count(*), sum(id) FROM lake.hsales.events WHERE id >= 10000",
        "INSERT INTO lake.hsales.events VALUES (20000, 'spark'), (20001, 'spark')",
        "SELECT count(*) FROM lake.hsales.events",
    )
    assert counts[0] == [[5, sum(range(10_000, 10_005))]]
    assert counts[2] == [[rows + 5 + 2]]
    scan = lake.table().scan(row_filter="id >= 20000").to_arrow().to_pylist()
    assert sorted((r["id"], r["name"]) for r in scan) == [(20000, "spark"), (20001, "spark")]
    assert checksum(lake.table())[0] == rows + 7
