"""Retention through the CLI (a real `reconcile` subprocess): `maintain --dry-run` previews the
rows past the policy's age, `maintain` deletes exactly those, and the next plan is empty."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from pyiceberg.table import Table

from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.sources.config import load_settings
from reconciler.testing.pvesim import PveSim
from tests.e2e.conftest import Workspace, make_workspace

TABLE = """apiVersion: reconciler/v1
kind: Table
metadata: {name: events}
spec:
  catalog: lake
  namespace: web
  name: events
  schema:
    - {name: id, type: long, required: true}
    - {name: day, type: date, required: true}
  partitionBy:
    - {source: day, transform: month}
  policy: keep
"""
POLICY = """apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata: {name: keep}
spec:
  retention: {column: day, deleteOlderThan: 30d}
"""


def _workspace(tmp_path: Path, sim: PveSim) -> Workspace:
    ws = make_workspace(tmp_path, sim)
    shutil.rmtree(ws.specs / "containers")
    shutil.rmtree(ws.specs / "defaults")
    (ws.specs / "events.yaml").write_text(TABLE)
    (ws.specs / "keep.yaml").write_text(POLICY)
    return ws


def _table(ws: Workspace) -> Table:
    settings = load_settings(ws.config)
    catalogs = Catalogs({n: dict(p) for n, p in settings.catalogs}, state_dir=settings.state_dir)
    return catalogs.get("lake").load_table(("web", "events"))


def test_maintain_previews_then_deletes_expired_rows(tmp_path: Path, pvesim: PveSim) -> None:
    ws = _workspace(tmp_path, pvesim)
    created = ws.run("apply", "--yes")
    assert created.returncode == 0, created.stdout + created.stderr
    today = datetime.now(UTC).date()
    days = {i: today - timedelta(days=i) for i in range(100)}
    rows = [{"id": i, "day": day} for i, day in days.items()]
    table = _table(ws)
    table.append(pa.Table.from_pylist(rows, schema=table.schema().as_arrow()))
    old = [i for i, day in days.items() if day < today - timedelta(days=30)]

    planned = ws.run("maintain", "--dry-run", "--output", "json")
    assert planned.returncode == 2, planned.stderr
    [line] = json.loads(planned.stdout)["changes"]
    assert (line["address"], line["action"]) == ("table/lake.web.events", "delete_expired_rows")
    assert line["reason"].startswith(f"{len(old)} rows with day older than 30d (before ")
    assert line["options"]["rows"] == len(old) == 69 and line["options"]["column"] == "day"

    done = ws.run("maintain")
    assert done.returncode == 0, done.stdout + done.stderr
    kept = sorted(_table(ws).scan().to_arrow().column("id").to_pylist())
    assert kept == [i for i in days if i not in old]
    again = ws.run("maintain", "--dry-run", "--output", "json")
    assert again.returncode == 0 and json.loads(again.stdout)["changes"] == []
