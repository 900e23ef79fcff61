"""One broken dependency never blocks unrelated work: an unreadable catalog gives its tables
`unknown` lines while containers and other catalogs are planned and applied (exit 1), and an
unreachable PVE leaves the tables planned and applied."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from reconciler.testing.pvesim import PveSim
from tests.e2e.conftest import ROOT, Workspace, make_workspace

DOWN = "postgresql+psycopg2://iceberg@127.0.0.1:1/iceberg"  # nothing listens on port 1


def _lake_down(tmp_path: Path, sim: PveSim) -> Workspace:
    """`lake` (raw.kafka_events, raw.*) is down; `sales.orders` lives in a working SQLite
    catalog `spare`."""
    ws = make_workspace(
        tmp_path,
        sim,
        extra=f"""catalogs:
  lake:
    type: sql
    uri: {DOWN}
    warehouse: file://{tmp_path}/warehouse
  spare:
    type: sql
    uri: sqlite:///{tmp_path}/spare.db
    warehouse: file://{tmp_path}/spare-warehouse
""",
    )
    for kind in ("tables", "policies"):
        shutil.copytree(ROOT / "specs" / kind, ws.specs / kind)
    sales = ws.specs / "tables" / "sales.yaml"
    sales.write_text(sales.read_text().replace("catalog: lake", "catalog: spare", 1))
    return ws


def _guests(sim: PveSim) -> dict[str, dict[str, object]]:
    return {str(c["name"]): c for c in sim.api().nodes("pve").lxc.get()}


def _lines(doc: dict[str, object]) -> dict[tuple[str, str], str]:
    changes = doc["changes"]
    assert isinstance(changes, list)
    return {(c["address"], c["action"]): c["reason"] for c in changes}


def test_plan_fails_clearly_when_a_used_catalog_cannot_be_read(
    tmp_path: Path, pvesim: PveSim
) -> None:
    ws = _lake_down(tmp_path, pvesim)
    done = ws.run("plan")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "catalog lake" in done.stderr and "No changes" not in done.stdout
    assert "table/lake.raw.kafka_events" in done.stdout and "unknown" in done.stdout
    as_json = ws.run("plan", "--output", "json")
    assert as_json.returncode == 1, as_json.stderr
    lines = _lines(json.loads(as_json.stdout))
    unknown = {a for a, action in lines if action == "unknown"}
    assert unknown and all(a.startswith("table/lake.") for a in unknown), lines
    assert all("catalog lake could not be read" in lines[(a, "unknown")] for a in unknown)
    assert ("table/spare.sales.orders", "create") in lines
    assert ("container/hive", "create") in lines
    # no maintenance, no create, nothing else for the unreadable catalog's tables
    assert not [k for k in lines if k[0] in unknown and k[1] != "unknown"], lines
    maintain = ws.run("maintain", "--dry-run", "--output", "json")
    assert maintain.returncode == 1, maintain.stdout + maintain.stderr
    assert {k[1] for k in _lines(json.loads(maintain.stdout))} == {"unknown"}


def test_apply_with_a_catalog_down_applies_containers_and_other_catalogs(
    tmp_path: Path, pvesim: PveSim
) -> None:
    ws = _lake_down(tmp_path, pvesim)
    done = ws.run("apply", "--yes")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "catalog lake" in done.stderr
    assert "Apply complete!" in done.stdout
    assert {"hive", "kafka", "minio"} <= set(_guests(pvesim)), _guests(pvesim)
    after = ws.run("plan", "--output", "json")
    assert after.returncode == 1, after.stderr
    lines = _lines(json.loads(after.stdout))
    assert {k[1] for k in lines} == {"unknown"}, lines  # the rest converged


def test_a_stopped_catalog_container_starts_while_its_catalog_is_down(
    tmp_path: Path, pvesim: PveSim
) -> None:
    ws = _lake_down(tmp_path, pvesim)
    created = ws.run("apply", "--yes", "--target", "container/hive")
    assert created.returncode == 0, created.stdout + created.stderr
    hive = _guests(pvesim)["hive"]
    assert hive["status"] == "running", hive
    pvesim.api().nodes("pve").lxc(hive["vmid"]).status.stop.post()  # the catalog's CT is down
    assert _guests(pvesim)["hive"]["status"] == "stopped"
    plan = ws.plan_json("--target", "container/hive")
    assert ("container/hive", "start") in _lines(plan)
    started = ws.run("apply", "--yes", "--target", "container/hive")
    assert started.returncode == 0, started.stdout + started.stderr
    assert _guests(pvesim)["hive"]["status"] == "running"


def test_pve_unreachable_still_plans_and_applies_tables(tmp_path: Path, pvesim: PveSim) -> None:
    ws = _lake_down(tmp_path, pvesim)
    text = ws.config.read_text()
    text = text.replace(f"port: {pvesim.port}", "port: 1", 1)  # nothing listens on port 1
    text = text.replace(DOWN, f"sqlite:///{tmp_path}/lake.db")  # the lake is up this time
    ws.config.write_text(text)
    done = ws.run("apply", "--yes")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "proxmox" in done.stderr
    after = ws.run("plan", "--output", "json")
    assert after.returncode == 1, after.stderr
    lines = _lines(json.loads(after.stdout))
    assert {a for a, _ in lines} == {
        f"container/{p.stem}" for p in (ws.specs / "containers").glob("*.yaml")
    }
    assert {k[1] for k in lines} == {"unknown"}, lines  # every table was created
    assert all("Proxmox VE could not be read" in r for r in lines.values())
