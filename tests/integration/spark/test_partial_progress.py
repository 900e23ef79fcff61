"""Compaction tuning reaches the procedure: a table over the partial-progress size (lowered by
config) commits file group by file group, one under it in one commit; rows are kept.

Both tables are planned by the differ from their real health (2 cores: two file groups each),
and both calls run in one spark-submit; the tuned call's Spark SQL conf goes with it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog

from reconciler.diff.compaction_tuning import cluster_of
from reconciler.diff.maintenance import assess_table
from reconciler.model.policies import Compaction, MaintenancePolicy
from reconciler.model.tables import ColumnSpec, PrimitiveType, TableSpec
from reconciler.plan.change import Action
from reconciler.plan.maintenance_ops import expand, procedure_of
from reconciler.providers.iceberg.health import read_health
from reconciler.providers.spark.jobs import catalog_conf
from reconciler.providers.spark.procedures import procedure_call
from reconciler.providers.spark.runner import run_table_job
from reconciler.settings import SparkSettings
from tests.integration.spark.spark_env import local_jars

pytestmark = pytest.mark.spark
KIB = 1024
APPENDS = 24
ARROW = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string())])
# Tiny sizes so two dozen one-row files make two file groups of whole target files.
RULE = Compaction(small_file_size=4 * KIB, min_small_files=2, target_file_size=8 * KIB)


def test_partial_progress_commits_each_group_and_keeps_rows(tmp_path: Path) -> None:
    root = tmp_path
    props = {"uri": f"sqlite:///{root / 'catalog.db'}", "warehouse": (root / "wh").as_uri()}
    (root / "wh").mkdir()
    catalog = SqlCatalog("lake", **props)
    catalog.create_namespace("tune")
    policy = MaintenancePolicy(name="tune", compaction=RULE)
    now = datetime.now(UTC)
    lines = {}
    for name, threshold in (("big", 1), ("quiet", 1024**4)):  # 1 byte: every rewrite is "large"
        table = catalog.create_table(("tune", name), ARROW, properties={"format-version": "2"})
        for i in range(APPENDS):
            table.append(pa.Table.from_pylist([{"id": i, "name": "x" * 200 + str(i)}], ARROW))
        spec = TableSpec(
            "lake",
            ("tune",),
            name,
            fields=(ColumnSpec("id", PrimitiveType("long"), required=True),),
            policy="tune",
        )
        health = read_health(catalog.load_table(("tune", name)), spec.address, RULE)
        cluster = cluster_of("local[2]", {}, partial_progress_bytes=threshold)
        (maintain,) = assess_table(
            spec, policy, health, now, ignore_window=True, cluster=cluster
        ).changes
        assert maintain.action is Action.MAINTAIN
        (line,) = expand(maintain)  # its one call, as the v1 JSON document shows it
        assert line.action is Action.REWRITE_DATA_FILES
        lines[name] = line
    big = dict(lines["big"].options)
    assert big["partial-progress.enabled"] == "true"
    assert big["max-concurrent-file-group-rewrites"] == "2"  # local[2]
    groups = int(big["partial-progress.max-commits"])
    assert groups >= 2, lines["big"].reason
    assert (
        "partial progress" in lines["big"].reason
        and "2 cores: master local[2]" in lines["big"].reason
    )
    assert "partial-progress.enabled" not in dict(lines["quiet"].options)
    assert big["estimate"]["files_to_rewrite"] == APPENDS  # type: ignore[index]
    calls = []
    for name, line in lines.items():
        call = procedure_of(line.operations)
        assert call is not None and call.session_conf == ()  # binpack sets no Spark conf
        calls.append(procedure_call("lake", ("tune", name), call, now))
    before = {n: len(catalog.load_table(("tune", n)).metadata.snapshots) for n in lines}
    job = run_table_job(
        SparkSettings(jars=local_jars(), conf=(("spark.driver.memory", "1g"),), timeout=600.0),
        catalog_conf("lake", props),
        calls,
        state_dir=root / "state",
        app_name="compaction-tuning",
        keep_going=True,
    )
    for result in job.results:
        assert result.ok, (result.error, job.log_file)
    added = {n: len(catalog.load_table(("tune", n)).metadata.snapshots) - before[n] for n in lines}
    assert added["big"] == groups  # one commit per file group
    assert added["quiet"] == 1  # Iceberg's default: the whole rewrite in one commit
    for name in lines:
        table = catalog.load_table(("tune", name))
        rows = table.scan().to_arrow()
        assert rows.num_rows == APPENDS
        assert sorted(rows.column("id").to_pylist()) == list(range(APPENDS))
        after = read_health(table, lines[name].address, RULE)
        assert after.data_files < APPENDS
