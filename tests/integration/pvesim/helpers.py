"""Small helpers shared by the simulator's integration tests."""

from __future__ import annotations

from typing import Any

import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.tools import Tasks

from reconciler.testing.pvesim import PveSim

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


def wait(api: ProxmoxAPI, upid: str) -> dict[str, Any]:
    """Block until the task stopped; return its status."""
    status = Tasks.blocking_status(api, upid, timeout=30, polling_interval=0.02)
    assert status is not None, f"task {upid} did not finish"
    return dict(status)


def create_ct(api: ProxmoxAPI, vmid: int = 100, **extra: Any) -> dict[str, Any]:
    """Create a CT and wait for its task."""
    params: dict[str, Any] = {
        "vmid": vmid,
        "ostemplate": TEMPLATE,
        "rootfs": "local-lvm:8",
        "net0": "name=eth0,bridge=vmbr0,ip=dhcp",
    }
    params.update(extra)
    return wait(api, api.nodes("pve").lxc.post(**params))


def raw(sim: PveSim, method: str, path: str, **kwargs: Any) -> requests.Response:
    """A raw HTTPS request with the API token."""
    headers = {"Authorization": f"PVEAPIToken={sim.token_user}!{sim.token_name}={sim.token_secret}"}
    headers.update(kwargs.pop("headers", {}))
    return requests.request(
        method,
        f"{sim.url}/api2/json{path}",
        headers=headers,
        verify=sim.ca_file,
        timeout=30,
        **kwargs,
    )
