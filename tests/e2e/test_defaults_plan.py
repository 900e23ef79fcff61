"""The example lake written with a Defaults document plans exactly as the expanded specs did:
the same `plan --output json` bytes (fixtures/expanded_containers is the tree before Defaults)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from reconciler.testing.pvesim import PveSim
from tests.e2e.conftest import ROOT, make_workspace

# The seven example Container specs as they were before `specs/defaults/`, every value spelled
# out. A change to the example specs (e.g. a new field) must be made to these copies too.
EXPANDED = Path(__file__).parent / "fixtures" / "expanded_containers"


def test_the_example_lake_plans_the_same_bytes_with_defaults(
    tmp_path: Path, pvesim: PveSim
) -> None:
    ws = make_workspace(tmp_path, pvesim)
    for kind in ("tables", "policies"):
        shutil.copytree(ROOT / "specs" / kind, ws.specs / kind)
    with_defaults = ws.run("plan", "--output", "json")
    assert with_defaults.returncode == 2, with_defaults.stderr

    shutil.rmtree(ws.specs / "containers")
    shutil.rmtree(ws.specs / "defaults", ignore_errors=True)
    shutil.copytree(EXPANDED, ws.specs / "containers")
    expanded = ws.run("plan", "--output", "json")
    assert expanded.returncode == 2, expanded.stderr

    assert with_defaults.stdout == expanded.stdout
    plan = json.loads(expanded.stdout)
    creates = {c["address"] for c in plan["changes"] if c["action"] == "create"}
    assert {f"container/{p.stem}" for p in EXPANDED.glob("*.yaml")} <= creates


def test_every_example_container_names_the_shared_defaults() -> None:
    """The equality above is about Defaults only if the example specs do use them."""
    for path in sorted((ROOT / "specs" / "containers").glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))["spec"]
        assert spec.get("defaults") == ["lxc"], path
