"""Prune end to end: orphans reported, deleted only behind every guard; unowned CTs left alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.testing.pvesim import PveSim, RequestRecord
from tests.e2e.conftest import Workspace, make_workspace

ALLOW_PRUNE = "apply:\n  allow_prune: true\n"
GITEA = 118


def _vmids(sim: PveSim) -> set[int]:
    return {int(c["vmid"]) for c in sim.api().nodes("pve").lxc.get()}


def _converge(ws: Workspace) -> None:
    done = ws.run("apply", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert ws.plan_json()["changes"] == []


def _drop(ws: Workspace, *names: str) -> None:
    for name in names:
        (ws.specs / "containers" / f"{name}.yaml").unlink()


def _lines(plan: dict[str, Any]) -> dict[str, str]:
    return {c["address"]: c["action"] for c in plan["changes"]}


def _writes(records: list[RequestRecord]) -> list[RequestRecord]:
    return [r for r in records if r.method != "GET"]


def _touches(record: RequestRecord, vmid: int) -> bool:
    return f"/lxc/{vmid}" in record.path or str(record.params.get("vmid")) == str(vmid)


@pytest.fixture(scope="module")
def converged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed's CTs converged once; each test starts its own simulator from this state."""
    root = tmp_path_factory.mktemp("converged")
    with PveSim() as sim:
        _converge(make_workspace(root, sim))
        state = root / "state.json"
        state.write_text(json.dumps(sim.state()))
    return state


@pytest.fixture
def ws(tmp_path: Path, converged: Path, pvesim_factory: Callable[..., PveSim]) -> Workspace:
    return make_workspace(tmp_path, pvesim_factory(seed_file=converged), ALLOW_PRUNE)


@pytest.fixture
def ws_default(tmp_path: Path, converged: Path, pvesim_factory: Callable[..., PveSim]) -> Workspace:
    return make_workspace(tmp_path, pvesim_factory(seed_file=converged))


def test_an_orphan_is_reported_and_untouched_unless_the_config_allows_prune(
    ws_default: Workspace,
) -> None:
    ws = ws_default
    _drop(ws, "gitea")
    plan = ws.run("plan")
    assert plan.returncode == 2, plan.stdout
    assert "container/gitea" in plan.stdout and "1 orphaned." in plan.stdout

    ws.sim.clear_requests()
    done = ws.run("apply", "--yes")
    assert done.returncode == 3, done.stdout + done.stderr  # the orphan remains
    assert GITEA in _vmids(ws.sim) and _writes(ws.sim.requests()) == []

    # --prune alone is not enough: the config must opt in, and the plan keeps the orphan line
    ws.sim.clear_requests()
    done = ws.run("apply", "--prune", "--yes")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "1 orphaned." in done.stdout and "Apply complete!" not in done.stdout
    assert _lines(ws.plan_json("--prune")) == {"container/gitea": "orphan"}
    assert "allow_prune" in done.stderr, done.stderr
    assert GITEA in _vmids(ws.sim) and _writes(ws.sim.requests()) == []


def test_with_allow_prune_and_prune_the_orphan_is_deleted(ws: Workspace) -> None:
    _drop(ws, "gitea")
    plan = ws.run("plan", "--prune")
    assert plan.returncode == 2
    assert "container/gitea" in plan.stdout and "delete" in plan.stdout
    ws.sim.clear_requests()
    done = ws.run("apply", "--prune", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "container/gitea (delete): applied" in done.stdout
    assert GITEA not in _vmids(ws.sim)
    assert _vmids(ws.sim) == {107, 108, 109, 115, 116, 117}
    deletes = [r for r in ws.sim.requests() if r.method == "DELETE"]
    assert [r.path.rstrip("/") for r in deletes] == [f"/nodes/pve/lxc/{GITEA}"]
    assert ws.run("plan", "--prune").returncode == 0


def test_prune_guards_refuse_too_many_deletions_and_an_empty_desired_set(ws: Workspace) -> None:
    before = _vmids(ws.sim)

    # two orphans with max_deletions=1 (the default): both refused, nothing deleted
    _drop(ws, "gitea", "superset")
    plan = ws.plan_json("--prune")
    assert _lines(plan) == {"container/gitea": "refuse", "container/superset": "refuse"}
    assert all("max_deletions=1" in c["reason"] for c in plan["changes"])
    ws.sim.clear_requests()
    done = ws.run("apply", "--prune", "--yes")
    assert done.returncode == 3, done.stdout + done.stderr  # refused or conflict lines remain
    assert "max_deletions" in done.stdout
    assert _vmids(ws.sim) == before and _writes(ws.sim.requests()) == []

    # no specs at all (a broken checkout?): refused even though each CT is an orphan
    for path in (ws.specs / "containers").glob("*.yaml"):
        path.unlink()
    text = ws.run("plan", "--prune")
    assert text.returncode == 2 and "desired set is empty" in text.stdout, text.stdout
    ws.sim.clear_requests()
    done = ws.run("apply", "--prune", "--yes")
    assert done.returncode == 3, done.stdout + done.stderr  # refused or conflict lines remain
    assert _vmids(ws.sim) == before and _writes(ws.sim.requests()) == []


def test_a_protected_orphan_is_not_deleted(ws: Workspace) -> None:
    ws.sim.api().nodes("pve").lxc(GITEA).config.put(protection=1)
    _drop(ws, "gitea")
    text = ws.run("plan", "--prune")
    assert text.returncode == 2
    assert "protection" in text.stdout and "container/gitea" in text.stdout
    ws.sim.clear_requests()
    done = ws.run("apply", "--prune", "--yes")
    assert done.returncode == 3, done.stdout + done.stderr  # refused or conflict lines remain
    assert GITEA in _vmids(ws.sim)
    assert not [r for r in _writes(ws.sim.requests()) if _touches(r, GITEA)]


def test_an_unowned_ct_at_a_spec_vmid_is_a_conflict_and_never_touched(ws: Workspace) -> None:
    api = ws.sim.api()
    ct = api.nodes("pve").lxc(GITEA)
    ct.status.stop.post()
    ct.delete()
    api.nodes("pve").lxc.post(
        vmid=GITEA,
        hostname="handmade",
        memory=256,
        storage="local-lvm",
        ostemplate="local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
    )
    config = dict(ct.config.get())
    assert config["hostname"] == "handmade" and "tags" not in config  # no ownership tag
    api.nodes("pve").lxc(107).config.put(memory=1024)  # drift elsewhere: the apply has work
    plan = ws.run("plan")
    assert plan.returncode == 2
    assert "conflict" in plan.stdout and "does not own" in plan.stdout
    assert _lines(ws.plan_json()) == {"container/gitea": "conflict", "container/minio": "update"}

    ws.sim.clear_requests()
    done = ws.run("apply", "--prune", "--yes")
    assert done.returncode == 3, done.stdout + done.stderr  # refused or conflict lines remain
    assert "container/minio (update): applied" in done.stdout
    assert "container/gitea (" not in done.stdout  # no progress line: nothing ran for it
    records = ws.sim.requests()
    assert any(r.method == "PUT" and "/lxc/107/" in r.path for r in records)
    assert not [r for r in _writes(records) if _touches(r, GITEA)]
    assert dict(ct.config.get()) == config
    again = ws.run("plan", "--prune")
    assert again.returncode == 2 and "1 in conflict" in again.stdout, again.stdout
