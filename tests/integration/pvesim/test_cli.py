"""The simulator as a program: --port 0, --cert-out, --state surviving a restart, --seed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from proxmoxer import ProxmoxAPI, ResourceException

from .helpers import TEMPLATE, wait


@contextmanager
def _run(tmp: Path, *extra: str) -> Iterator[ProxmoxAPI]:
    ca = tmp / "ca.pem"
    cmd = [
        sys.executable,
        "-m",
        "reconciler.testing.pvesim",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--token",
        "root@pam!reconciler=s3cret",
        "--cert-out",
        str(ca),
        *extra,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("https://127.0.0.1:")
        port = int(url.rsplit(":", 1)[1])
        yield ProxmoxAPI(
            "127.0.0.1",
            port=port,
            user="root@pam",
            token_name="reconciler",
            token_value="s3cret",
            verify_ssl=str(ca),
            timeout=30,
        )
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_state_survives_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with _run(tmp_path, "--state", str(state)) as api:
        wait(
            api,
            api.nodes("pve").lxc.post(
                vmid=120, ostemplate=TEMPLATE, rootfs="local-lvm:8", hostname="kept"
            ),
        )
        digest = api.nodes("pve").lxc(120).config.get()["digest"]
    assert state.exists()
    with _run(tmp_path, "--state", str(state)) as api:
        conf = api.nodes("pve").lxc(120).config.get()
        assert conf["hostname"] == "kept" and conf["digest"] == digest
        assert api.cluster.nextid.get() == "100"


def test_seed_and_version(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "nodes": [{"node": "pve1"}, {"node": "pve2", "bridges": ["vmbr0", "vmbr1"]}],
                "guests": [
                    {
                        "vmid": 200,
                        "node": "pve2",
                        "status": "running",
                        "config": {
                            "hostname": "old",
                            "memory": 1024,
                            "rootfs": "local-lvm:vm-200-disk-0,size=8G",
                        },
                    },
                    {"vmid": 300, "node": "pve1", "type": "qemu"},
                ],
            }
        )
    )
    with _run(
        tmp_path, "--seed", str(seed), "--version", "9.0", "--fault-offline-node", "pve1"
    ) as api:
        assert api.version.get()["release"] == "9.0"
        vms = {v["vmid"]: v for v in api.cluster.resources.get(type="vm")}
        assert vms[200]["status"] == "running" and vms[200]["node"] == "pve2"
        assert vms[300]["type"] == "qemu"
        assert api.nodes("pve2").lxc(200).config.get()["memory"] == 1024
        vol = api.nodes("pve2").storage("local-lvm").content.get(vmid=200)
        assert vol[0]["size"] == 8 * 2**30
        assert {n["node"]: n["status"] for n in api.nodes.get()} == {
            "pve1": "offline",
            "pve2": "online",
        }
        with pytest.raises(ResourceException) as exc:
            api.nodes("pve2").lxc.post(vmid=300, ostemplate=TEMPLATE, rootfs="local-lvm:8")
        assert exc.value.content == "VM 300 already exists on node 'pve1'"
        with pytest.raises(ResourceException) as exc:
            api.nodes("pve1").lxc.get()
        assert exc.value.status_code == 595
        assert vms[300]["status"] == "unknown"  # its node is offline
