"""Fault injection (seeded, per method), offline nodes and the /_sim admin API."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import requests
from proxmoxer import ResourceException

from reconciler.testing.pvesim import Faults, PveSim

from .helpers import TEMPLATE, create_ct, raw, wait


def _statuses(sim: PveSim, n: int) -> list[int]:
    return [raw(sim, "POST", "/nodes/pve/lxc/999/status/start").status_code for _ in range(n)]


def test_error_rate_is_seeded_and_reproducible(pvesim: PveSim) -> None:
    pvesim.set_faults(Faults(error_rate=0.5, status=596, seed=7))
    first = _statuses(pvesim, 30)
    pvesim.set_faults(Faults(error_rate=0.5, status=596, seed=7))
    assert _statuses(pvesim, 30) == first
    assert set(first) == {596, 500}  # 500 = the real "does not exist" answer
    resp = raw(pvesim, "POST", "/nodes/pve/lxc/999/status/start")
    assert resp.reason in (
        "Connection timed out",
        "Configuration file 'nodes/pve/lxc/999.conf' does not exist",
    )


def test_faults_only_hit_chosen_methods_and_change_nothing(pvesim: PveSim) -> None:
    api = pvesim.api()
    pvesim.set_faults(Faults(error_rate=1.0, status=500, methods=("POST", "PUT", "DELETE")))
    assert api.version.get()["release"] == "8.3"  # reads stay reliable
    with pytest.raises(ResourceException) as exc:
        api.nodes("pve").lxc.post(vmid=100, ostemplate=TEMPLATE, rootfs="local-lvm:8")
    assert exc.value.status_code == 500
    assert api.cluster.resources.get(type="vm") == []
    assert pvesim.state()["volumes"][0]["content"] == "vztmpl"
    assert len(pvesim.state()["volumes"]) == 1


def test_lock_timeout(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api)
    pvesim.set_faults(Faults(lock_timeout_rate=1.0))
    with pytest.raises(ResourceException) as exc:
        api.nodes("pve").lxc(100).config.put(memory=1024)
    assert exc.value.content == "can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout"
    assert api.nodes("pve").lxc(100).config.get()["memory"] == 512


def test_task_failure_injection_changes_nothing(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api, 100)
    pvesim.set_faults(Faults(task_failure_rate=1.0))
    status = wait(api, api.nodes("pve").lxc(100).status.start.post())
    assert status["exitstatus"].startswith("simulated task failure")
    assert api.nodes("pve").lxc(100).status.current.get()["status"] == "stopped"
    created = wait(
        api, api.nodes("pve").lxc.post(vmid=101, ostemplate=TEMPLATE, rootfs="local-lvm:8")
    )
    assert created["exitstatus"].startswith("unable to create CT 101 - simulated task failure")
    assert [g["vmid"] for g in api.cluster.resources.get(type="vm")] == [100]


def test_latency(pvesim: PveSim) -> None:
    api = pvesim.api()
    pvesim.set_faults(Faults(latency_ms=150))
    started = time.monotonic()
    api.version.get()
    assert time.monotonic() - started >= 0.15


def test_offline_node(pvesim_factory: Callable[..., PveSim]) -> None:
    sim = pvesim_factory(faults=Faults(offline_nodes=("pve",)))
    api = sim.api()
    with pytest.raises(ResourceException) as exc:
        api.nodes("pve").lxc.get()
    assert exc.value.status_code == 595 and exc.value.content == "No route to host"
    assert api.nodes.get()[0]["status"] == "offline"
    with pytest.raises(ResourceException) as unknown:
        api.nodes("ghost").lxc.get()
    assert unknown.value.status_code == 500


def test_admin_api(pvesim: PveSim) -> None:
    base = f"{pvesim.url}/_sim"
    create_ct(pvesim.api())
    state = requests.get(f"{base}/state", verify=pvesim.ca_file, timeout=10).json()["data"]
    assert [g["vmid"] for g in state["guests"]] == [100]
    set_faults = requests.put(
        f"{base}/faults",
        json={"error_rate": 1, "methods": ["PUT"]},
        verify=pvesim.ca_file,
        timeout=10,
    )
    assert set_faults.json()["data"]["methods"] == ["PUT"]
    assert raw(pvesim, "PUT", "/nodes/pve/lxc/100/config", data={"cores": "2"}).status_code == 500
    requests.post(f"{base}/reset", verify=pvesim.ca_file, timeout=10)
    assert pvesim.state()["guests"] == []
    assert pvesim.requests() == []
    assert requests.get(f"{base}/nope", verify=pvesim.ca_file, timeout=10).status_code == 501
