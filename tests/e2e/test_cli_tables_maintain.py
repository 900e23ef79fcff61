"""Containers, tables and maintenance in one plan, through the CLI: the example lake converges,
then small appends make `reconcile maintain` plan a compaction with its reason."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.sources.config import load_settings
from reconciler.testing.pvesim import PveSim
from tests.e2e.conftest import ROOT, Workspace, make_workspace


def _full_workspace(tmp_path: Path, sim: PveSim) -> Workspace:
    ws = make_workspace(tmp_path, sim)
    for kind in ("tables", "policies"):
        shutil.copytree(ROOT / "specs" / kind, ws.specs / kind)
    return ws


def _append_small_files(ws: Workspace, count: int) -> None:
    settings = load_settings(ws.config)
    catalogs = Catalogs({n: dict(p) for n, p in settings.catalogs}, state_dir=settings.state_dir)
    table = catalogs.get("lake").load_table(("raw", "kafka_events"))
    schema = pa.schema(
        [
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("topic", pa.string(), nullable=False),
            pa.field("partition", pa.int32(), nullable=False),
            pa.field("offset", pa.int64(), nullable=False),
            pa.field("key", pa.binary()),
            pa.field("payload", pa.string()),
            pa.field("headers", pa.map_(pa.string(), pa.string())),
            pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        ]
    )
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    for batch in range(count):
        rows = [
            {
                "event_id": f"orders/0/{batch * 10 + i}",
                "topic": "orders",
                "partition": 0,
                "offset": batch * 10 + i,
                "key": None,
                "payload": "{}",
                "headers": None,
                "ts": now,
            }
            for i in range(10)
        ]
        table.append(pa.Table.from_pylist(rows, schema=schema))


def test_maintenance_is_planned_from_health_with_its_reason(tmp_path: Path, pvesim: PveSim) -> None:
    ws = _full_workspace(tmp_path, pvesim)
    first = ws.plan_json()
    kinds = {c["address"].split("/")[0] for c in first["changes"]}
    assert kinds == {"container", "table"}  # one document mixes both
    assert first["summary"] == {"create": 10, "exit_code": 2}
    done = ws.run("apply", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert ws.plan_json()["changes"] == []

    _append_small_files(ws, 25)  # policy `hot`: 20 small files trigger compaction
    maintain = ws.run("maintain", "--dry-run", "--output", "json")
    assert maintain.returncode == 2, maintain.stderr
    lines = json.loads(maintain.stdout)["changes"]
    assert {c["address"] for c in lines} == {"table/lake.raw.kafka_events"}
    rewrite = next(c for c in lines if c["action"] == "rewrite_data_files")
    assert "25 data files" in rewrite["reason"] and "16MiB" in rewrite["reason"]
    assert rewrite["options"]["strategy"] == "binpack"

    plan = ws.plan_json()  # the full plan shows the same maintenance line, nothing else
    assert [(c["address"], c["action"]) for c in plan["changes"]] == [
        (c["address"], c["action"]) for c in lines
    ]
    other = ws.run("maintain", "--dry-run", "sales.orders")
    assert other.returncode == 0 and other.stdout.startswith("No changes.")


def test_apply_json_is_one_document_with_plan_and_outcomes(tmp_path: Path, pvesim: PveSim) -> None:
    ws = _full_workspace(tmp_path, pvesim)
    refused = ws.run("apply", "--output", "json")
    assert refused.returncode == 1 and "needs --yes" in refused.stderr and refused.stdout == ""
    done = ws.run(
        "apply",
        "--yes",
        "--output",
        "json",
        "--target",
        "container/minio",
        "--target",
        "table/lake.sales.orders",
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)  # exactly one JSON document
    assert doc["format_version"] == "1"
    assert [(c["address"], c["action"]) for c in doc["changes"]] == [
        ("container/minio", "create"),
        ("table/lake.sales.orders", "create"),
    ]
    assert [(o["address"], o["status"]) for o in doc["outcomes"]] == [
        ("container/minio", "applied"),
        ("table/lake.sales.orders", "applied"),
    ]
    assert doc["outcome_summary"] == {"applied": 2}
    assert {n["address"] for n in doc.get("notes", [])} <= {"table/lake.sales.orders"}


def test_a_target_that_names_no_spec_is_an_error(tmp_path: Path, pvesim: PveSim) -> None:
    ws = _full_workspace(tmp_path, pvesim)
    for args in (
        ("maintain", "--dry-run", "sales.ordres"),
        ("plan", "--target", "container/minoi"),
    ):
        done = ws.run(*args)
        assert done.returncode == 1 and "no spec matches" in done.stderr, done.stdout
    assert ws.run("plan", "--target", "minio").returncode == 2
