"""Saved plans of tables end to end: `plan --out` records each table line's operations,
`apply FILE` creates and evolves exactly those, a catalog change since the plan refuses it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pyiceberg.types import StringType

from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.sources.config import load_settings
from reconciler.testing.pvesim import PveSim
from tests.e2e.conftest import ROOT, Workspace, make_workspace

STALE = "error: saved plan is stale: "


def _tables_workspace(tmp_path: Path, sim: PveSim) -> Workspace:
    ws = make_workspace(tmp_path, sim)
    shutil.copytree(ROOT / "specs" / "tables", ws.specs / "tables")
    shutil.copytree(ROOT / "specs" / "policies", ws.specs / "policies")
    return ws


def _catalog(ws: Workspace) -> Any:
    settings = load_settings(ws.config)
    cats = Catalogs({n: dict(p) for n, p in settings.catalogs}, state_dir=settings.state_dir)
    return cats.get("lake")


def _save(ws: Workspace) -> tuple[Path, dict[str, Any]]:
    out = ws.root / "tfplan.json"
    done = ws.run("plan", "--out", str(out))
    assert done.returncode == 2, done.stdout + done.stderr
    doc: dict[str, Any] = json.loads(out.read_text())
    return out, doc


def test_saved_table_lines_carry_and_apply_their_operations(tmp_path: Path, pvesim: PveSim) -> None:
    ws = _tables_workspace(tmp_path, pvesim)
    out, doc = _save(ws)
    creates = [
        c for c in doc["changes"] if c["action"] == "create" and c["address"].startswith("table/")
    ]
    assert creates
    for line in creates:
        (op,) = line["operations"]
        assert op["op"] == "create_table"
        assert op["properties"]["reconciler.managed-by"] == "datalake-reconciler"
        # The display and the instruction agree: every schema field shown is in the operation.
        shown = {f["path"].removeprefix("schema.") for f in line["fields"]}
        assert {c["name"] for c in op["schema"]} <= shown
    done = ws.run("apply", str(out), "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    catalog = _catalog(ws)
    for line in creates:
        ident = line["address"].removeprefix("table/lake.")
        table = catalog.load_table(ident)
        (op,) = line["operations"]
        assert [f.name for f in table.schema().fields] == [c["name"] for c in op["schema"]]
    assert [c for c in ws.plan_json()["changes"] if c["action"] in ("create", "update")] == []
    again = ws.run("apply", str(out), "--yes")
    assert again.returncode == 1 and STALE in again.stderr, again.stderr


def test_a_table_changed_after_plan_out_refuses_the_saved_update(
    tmp_path: Path, pvesim: PveSim
) -> None:
    ws = _tables_workspace(tmp_path, pvesim)
    assert ws.run("apply", "--yes").returncode == 0
    spec = next((ws.specs / "tables").glob("*.yaml"))
    text = spec.read_text()
    assert "  schema:\n" in text
    spec.write_text(
        text.replace("  schema:\n", "  schema:\n    - {name: note_b, type: string}\n", 1)
    )
    out, doc = _save(ws)
    (update,) = [c for c in doc["changes"] if c["action"] == "update"]
    assert update["operations"][0]["op"] in ("add_column", "move_columns")
    assert any(op["op"] == "add_column" for op in update["operations"])
    ident = update["address"].removeprefix("table/lake.")
    table = _catalog(ws).load_table(ident)
    with table.update_schema() as change:  # someone else evolves the table meanwhile
        change.add_column("by_hand", StringType())
    refused = ws.run("apply", str(out), "--yes")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    # A plan made now would drop `by_hand` (refused): the saved update is no longer planned.
    assert f"{STALE}{update['address']} (update)" in refused.stderr, refused.stderr
    names = [f.name for f in _catalog(ws).load_table(ident).schema().fields]
    assert "note_b" not in names and "by_hand" in names  # nothing of the saved plan ran
