"""The containers contract end to end: `reconcile` subprocesses against the HTTPS simulator."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from reconciler.model.containers import OWNER_TAG
from tests.e2e.conftest import Workspace, make_workspace

SEED = {
    107: "minio",
    108: "spark",
    109: "kafka",
    115: "superset",
    116: "airflow",
    117: "hive",
    118: "gitea",
}


def _converge(ws: Workspace) -> None:
    done = ws.run("apply", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr


def _config(ws: Workspace, vmid: int) -> dict[str, object]:
    return dict(ws.sim.api().nodes("pve").lxc(vmid).config.get())


def test_converges_the_seed_from_an_empty_cluster_and_the_next_plan_is_empty(
    workspace: Workspace,
) -> None:
    ws = workspace
    first = ws.run("plan")
    assert first.returncode == 2
    assert "Plan: 7 to create" in first.stdout
    _converge(ws)
    lxc = {int(c["vmid"]): c for c in ws.sim.api().nodes("pve").lxc.get()}
    assert {v: c["name"] for v, c in lxc.items()} == SEED
    assert all(c["status"] == "running" for c in lxc.values())
    minio = _config(ws, 107)
    assert minio["memory"] == 2048 and minio["cores"] == 2
    assert "local-lvm:vm-107-disk-0" in str(minio["rootfs"]) and "size=20G" in str(minio["rootfs"])
    assert "ip=192.168.4.31/24" in str(minio["net0"]) and "gw=192.168.4.1" in str(minio["net0"])
    assert OWNER_TAG in str(minio["tags"])
    again = ws.run("plan")
    assert again.returncode == 0, again.stdout
    assert again.stdout.startswith("No changes.")
    assert ws.plan_json()["changes"] == []


def test_memory_drift_is_planned_then_repaired(workspace: Workspace) -> None:
    ws = workspace
    _converge(ws)
    ws.sim.api().nodes("pve").lxc(107).config.put(memory=1024)
    plan = ws.plan_json()
    assert [(c["address"], c["action"]) for c in plan["changes"]] == [("container/minio", "update")]
    assert plan["changes"][0]["fields"] == [{"path": "memory", "before": 1024, "after": 2048}]
    _converge(ws)
    assert _config(ws, 107)["memory"] == 2048
    assert ws.plan_json()["changes"] == []


def test_disk_grows_and_shrink_or_template_changes_are_refused_and_not_executed(
    workspace: Workspace,
) -> None:
    ws = workspace
    _converge(ws)
    ws.edit("hive", "size: 10GiB", "size: 12GiB")
    plan = ws.plan_json()
    assert [(c["address"], c["action"]) for c in plan["changes"]] == [("container/hive", "resize")]
    _converge(ws)
    assert "size=12G" in str(_config(ws, 117)["rootfs"])

    ws.edit("hive", "size: 12GiB", "size: 8GiB")
    ws.edit("kafka", "debian-12-standard_12.7-1_amd64", "ubuntu-24.04-standard_24.04-2_amd64")
    plan = ws.plan_json()
    actions = {(c["address"], c["action"]) for c in plan["changes"]}
    assert actions == {("container/hive", "refuse"), ("container/kafka", "refuse")}
    assert all(c["reason"] for c in plan["changes"])
    ws.sim.clear_requests()
    done = ws.run("apply", "--yes")
    assert done.returncode == 3, done.stderr  # refused lines remain
    writes = [r for r in ws.sim.requests() if r.method != "GET"]
    assert writes == []
    assert "size=12G" in str(_config(ws, 117)["rootfs"])


def test_a_change_that_needs_a_restart_is_shown_as_restart(workspace: Workspace) -> None:
    ws = workspace
    _converge(ws)  # superset says restart: auto (the stateful specs reboot only at night)
    ws.edit("superset", "servers: [192.168.4.1]", "servers: [192.168.4.1, 192.168.4.2]")
    plan = ws.plan_json()
    superset = [c for c in plan["changes"] if c["address"] == "container/superset"]
    assert [c["action"] for c in superset] == ["restart"]
    assert "restart" in superset[0]["reason"].lower()
    text = ws.run("plan").stdout
    assert "restart" in text
    _converge(ws)
    assert "192.168.4.2" in str(_config(ws, 115)["nameserver"])
    assert ws.sim.api().nodes("pve").lxc(115).pending.get() == [] or all(
        "pending" not in row for row in ws.sim.api().nodes("pve").lxc(115).pending.get()
    )
    assert ws.plan_json()["changes"] == []


def test_plan_costs_at_most_containers_plus_two_calls_and_is_deterministic(
    workspace: Workspace,
) -> None:
    ws = workspace
    _converge(ws)
    ws.sim.clear_requests()
    first = ws.run("plan", "--output", "json")
    calls = ws.sim.requests()
    assert 1 < len(calls) <= len(SEED) + 2, [r.path for r in calls]
    assert [r.path for r in calls].count("/cluster/resources") == 1
    ws.sim.api().nodes("pve").lxc(109).config.put(cores=1)
    one = ws.run("plan", "--output", "json").stdout
    two = ws.run("plan", "--output", "json").stdout
    assert one == two and json.loads(one)["format_version"] == "1"
    assert first.stdout != one


def test_validate_reports_every_problem_with_file_and_line(
    workspace: Workspace, tmp_path: Path
) -> None:
    ws = workspace
    assert ws.run("validate").returncode == 0
    ws.edit("spark", "memory: 4GiB", "memory: 4 gigs")
    ws.edit("kafka", "vmid: 109", "vmid: 107")
    done = ws.run("validate")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert any("spark.yaml:" in line and "spec.memory" in line for line in lines), lines
    assert any(
        "spec.vmid" in line and "107" in line and ("kafka" in line or "minio" in line)
        for line in lines
    ), lines
    # nothing applied from an invalid revision
    ws.sim.clear_requests()
    assert ws.run("apply", "--yes").returncode == 1
    assert ws.sim.requests() == []


def test_the_token_secret_can_come_from_a_private_env_file(
    tmp_path: Path, pvesim_factory: Any
) -> None:
    ws = make_workspace(tmp_path, pvesim_factory(token="root@pam!reconciler=Zq9-distinct-w8"))
    env = {k: v for k, v in ws.env().items() if k != "PVE_TOKEN_SECRET"}
    dotenv = ws.root / ".env"
    dotenv.write_text(f"PVE_TOKEN_SECRET={ws.sim.token_secret}\n")
    dotenv.chmod(0o644)
    refused = subprocess.run(ws.argv("plan"), env=env, capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and "chmod 600" in refused.stderr
    assert ws.sim.token_secret not in refused.stderr + refused.stdout
    dotenv.chmod(0o600)
    done = subprocess.run(ws.argv("plan"), env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert "Plan: 7 to create" in done.stdout
