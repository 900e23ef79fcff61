"""Backups through the CLI (a real `reconcile` subprocess): `maintain` plans and takes a backup
with its reason, `backups TABLE` lists it, `restore` brings deleted rows back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
from pyiceberg.expressions import LessThan
from pyiceberg.table import Table

from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.sources.config import load_settings
from reconciler.testing.pvesim import PveSim
from tests.e2e.conftest import Workspace, make_workspace

TABLE = """apiVersion: reconciler/v1
kind: Table
metadata: {name: orders}
spec:
  catalog: lake
  namespace: sales
  name: orders
  schema:
    - {name: id, type: long, required: true}
    - {name: region, type: string}
    - {name: address, type: {struct: [{name: city, type: string}, {name: zip, type: int}]}}
    - {name: tags, type: {list: string}}
  partitionBy:
    - {source: region, transform: identity}
  policy: nightly
"""
POLICY = """apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata: {name: nightly}
spec:
  backup:
    target: {target}
    every: 24h
    keepLast: 2
"""


def _workspace(tmp_path: Path, sim: PveSim) -> Workspace:
    ws = make_workspace(tmp_path, sim)
    shutil.rmtree(ws.specs / "containers")
    shutil.rmtree(ws.specs / "defaults")
    (ws.specs / "orders.yaml").write_text(TABLE)
    target = (tmp_path / "backups").as_uri()
    (ws.specs / "nightly.yaml").write_text(POLICY.replace("{target}", target))
    return ws


def _table(ws: Workspace) -> Table:
    settings = load_settings(ws.config)
    catalogs = Catalogs({n: dict(p) for n, p in settings.catalogs}, state_dir=settings.state_dir)
    return catalogs.get("lake").load_table(("sales", "orders"))


def _fill(table: Table, count: int) -> None:
    arrow = table.schema().as_arrow()
    rows = [
        {
            "id": i,
            "region": ("eu", "us")[i % 2],
            "address": {"city": f"c{i % 5}", "zip": i},
            "tags": ["a", str(i)],
        }
        for i in range(count)
    ]
    table.append(pa.Table.from_pylist(rows, schema=arrow))


def test_maintain_backs_up_lists_and_restores(tmp_path: Path, pvesim: PveSim) -> None:
    ws = _workspace(tmp_path, pvesim)
    created = ws.run("apply", "--yes")
    assert created.returncode == 0, created.stdout + created.stderr
    table = _table(ws)
    _fill(table, 300)

    planned = ws.run("maintain", "--dry-run", "--output", "json")
    assert planned.returncode == 2, planned.stderr
    [line] = json.loads(planned.stdout)["changes"]
    assert (line["address"], line["action"]) == ("table/lake.sales.orders", "backup")
    assert line["reason"].startswith("no backup yet; policy wants one every 24 h")

    done = ws.run("maintain")
    assert done.returncode == 0, done.stdout + done.stderr
    again = ws.run("maintain", "--dry-run", "--output", "json")
    assert again.returncode == 0 and json.loads(again.stdout)["changes"] == []  # not due now

    listed = ws.run("backups", "lake.sales.orders", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    doc = json.loads(listed.stdout)
    [backup] = doc["backups"]
    assert doc["table"] == "lake.sales.orders"
    assert backup["rows"] == 300 and backup["size"] > 0
    assert backup["snapshot_id"] == table.current_snapshot().snapshot_id  # type: ignore[union-attr]
    assert backup["target"].endswith(f"/lake/sales/orders/{backup['id']}")
    text = ws.run("backups", "sales.orders")
    assert text.returncode == 0 and backup["id"] in text.stdout and "ROWS" in text.stdout

    table.delete(LessThan("id", 200))
    copy = ws.run("restore", "sales.orders", "--from", backup["id"], "--output", "json")
    assert copy.returncode == 0, copy.stderr
    restored = json.loads(copy.stdout)
    assert restored["new_table"] and restored["rows"] == 300 and restored["verified"]
    assert restored["table"] == f"lake.sales.orders_restored_{backup['id'].lower()}"
    twice = ws.run("restore", "sales.orders", "--from", backup["id"])
    assert twice.returncode == 1 and "already exists" in twice.stderr

    unconfirmed = ws.run("restore", "sales.orders", "--from", backup["id"], "--in-place")
    assert unconfirmed.returncode == 1 and "not a terminal (use --yes)" in unconfirmed.stderr
    assert len(_table(ws).scan().to_arrow()) == 100  # nothing written
    in_place = ws.run("restore", "sales.orders", "--from", backup["id"], "--in-place", "--yes")
    assert in_place.returncode == 0, in_place.stderr
    assert "300 rows" in in_place.stdout and "time travel" in in_place.stdout
    assert len(_table(ws).scan().to_arrow()) == 300

    missing = ws.run("restore", "sales.orders", "--from", "20990101T000000Z")
    assert missing.returncode == 1 and "not found" in missing.stderr
    unknown = ws.run("backups", "sales.nope")
    assert unknown.returncode == 1 and "no Table spec names 'sales.nope'" in unknown.stderr
