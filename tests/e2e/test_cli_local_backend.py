"""`proxmox.backend: local` end to end: proxmoxer runs `pvesh` (a stand-in on PATH) as root@pam."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.apply.errors import TransientError
from reconciler.providers.proxmox.client import build_client
from reconciler.providers.proxmox.errors import PvePermanentError
from reconciler.providers.proxmox.tasks import TaskWaiter
from reconciler.settings import ProxmoxSettings
from reconciler.testing.pvesim import Faults, PveSim
from tests.e2e.conftest import PveshStandIn, Workspace, make_workspace, write_pvesh

SEED = {
    107: "minio",
    108: "spark",
    109: "kafka",
    115: "superset",
    116: "airflow",
    117: "hive",
    118: "gitea",
}
BIND = "  mountpoints: [{id: 1, path: /srv/lake, hostPath: /tank/lake}]\n  dependsOn: []"
TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


def _local(tmp_path: Path, sim: PveSim) -> Workspace:
    return make_workspace(tmp_path / "local", sim, proxmox_extra="backend: local")


def _tickets(sim: PveSim) -> int:
    return sum(1 for r in sim.requests() if r.method == "POST" and r.path == "/access/ticket")


def test_the_seed_converges_through_pvesh(
    tmp_path: Path, pvesim: PveSim, pvesh_on_path: PveshStandIn
) -> None:
    ws = _local(tmp_path, pvesim)
    first = ws.run("plan")
    assert first.returncode == 2, first.stdout + first.stderr
    assert "Plan: 7 to create" in first.stdout
    pvesim.clear_requests()
    done = ws.run("apply", "--yes", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    # every call went through pvesh: one ticket login per pvesh run, no token request
    assert _tickets(pvesim) > 0
    lxc = {int(c["vmid"]): c for c in pvesim.api().nodes("pve").lxc.get()}
    assert {v: c["name"] for v, c in lxc.items()} == SEED
    assert all(c["status"] == "running" for c in lxc.values())
    minio = pvesim.api().nodes("pve").lxc(107).config.get()
    assert minio["memory"] == 2048 and "size=20G" in str(minio["rootfs"])
    tasks = [t for t in pvesim.state()["tasks"] if t["id"] == "107"]
    assert {t["type"] for t in tasks} >= {"vzcreate", "vzstart"}
    assert {t["user"] for t in tasks} == {"root@pam"}  # tickets, not the API token
    again = ws.run("plan")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith("No changes.")


def test_a_bind_mount_is_refused_with_a_token_and_applied_with_the_local_backend(
    tmp_path: Path, pvesim: PveSim, pvesh_on_path: PveshStandIn
) -> None:
    token = make_workspace(tmp_path / "token", pvesim)
    assert token.run("apply", "--yes").returncode == 0
    local = _local(tmp_path, pvesim)
    for ws in (token, local):
        ws.edit("minio", "  dependsOn: []", BIND)

    refused = token.plan_json()["changes"]
    assert [(c["address"], c["action"]) for c in refused] == [("container/minio", "refuse")]
    assert "API tokens" in refused[0]["reason"]
    pvesim.clear_requests()
    assert token.run("apply", "--yes").returncode == 3  # nothing allowed to do; refused remains
    assert [r for r in pvesim.requests() if r.method != "GET"] == []
    assert "mp1" not in pvesim.api().nodes("pve").lxc(107).config.get()

    planned = local.plan_json()["changes"]
    assert [(c["address"], c["action"]) for c in planned] == [("container/minio", "update")]
    assert any(f["path"].startswith("mountpoints") for f in planned[0]["fields"])
    done = local.run("apply", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert pvesim.api().nodes("pve").lxc(107).config.get()["mp1"] == "/tank/lake,mp=/srv/lake"
    after = local.run("plan")
    assert after.returncode == 0, after.stdout + after.stderr


def test_proxmoxer_status_synthesis_over_pvesh(pvesim: PveSim, pvesh_on_path: PveshStandIn) -> None:
    client = build_client(ProxmoxSettings(backend="local", timeout=10), task_timeout=900)
    # the provider lifts proxmoxer's 5 s communicate() timeout to the task budget
    assert client._api._store["session"].timeout == 900
    assert client.get("version")["release"] == pvesim.version
    with pytest.raises(PvePermanentError) as bad:
        client.post(
            "nodes/pve/lxc", vmid=300, ostemplate=TEMPLATE, rootfs="local-lvm:4", memory="lots"
        )
    assert bad.value.status == 400 and "memory: type check ('integer') failed" in str(bad.value)
    with pytest.raises(PvePermanentError) as missing:
        client.get("nodes/pve/lxc/999/config")
    assert missing.value.status == 500 and "999.conf' does not exist" in str(missing.value)

    upid = client.post(
        "nodes/pve/lxc",
        vmid=300,
        ostemplate=TEMPLATE,
        rootfs="local-lvm:4",
        mp0="/tank/lake,mp=/srv/lake",
    )
    assert isinstance(upid, str) and upid.startswith("UPID:pve:") and ":root@pam:" in upid
    assert TaskWaiter(client).wait(upid).exitstatus == "OK"
    assert client.get("nodes/pve/lxc/300/config")["mp0"] == "/tank/lake,mp=/srv/lake"
    client.put("nodes/pve/lxc/300/config", memory=1024)  # null result: pvesh prints nothing
    assert client.get("nodes/pve/lxc/300/config")["memory"] == 1024

    # a worker that fails still answers 200 with its UPID; the task status tells the truth
    pvesim.set_faults(Faults(task_failure_rate=1.0))
    failed = client.post("nodes/pve/lxc/300/status/start")
    assert isinstance(failed, str) and ":vzstart:300:" in failed
    pvesim.set_faults(Faults())
    with pytest.raises((PvePermanentError, TransientError)) as task_error:
        TaskWaiter(client).wait(failed)
    assert "simulated task failure" in str(task_error.value)


def test_pvesh_returns_after_the_worker_finished(
    tmp_path: Path, pvesim_factory: Callable[..., PveSim], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = pvesim_factory(task_seconds=1.0)
    for key, value in write_pvesh(tmp_path / "bin", sim).env().items():
        monkeypatch.setenv(key, value)
    client = build_client(ProxmoxSettings(backend="local"))
    upid = client.post("nodes/pve/lxc", vmid=301, ostemplate=TEMPLATE, rootfs="local-lvm:4")
    # over HTTPS the task would still be running now; pvesh waited for it in the foreground
    status = sim.api().nodes("pve").tasks(upid).status.get()
    assert status["status"] == "stopped" and status["exitstatus"] == "OK"
    assert "lock" not in sim.api().nodes("pve").lxc(301).config.get()
