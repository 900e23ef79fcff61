"""Create, destroy, power actions and tasks of the simulator, driven through proxmoxer."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from proxmoxer import ResourceException
from proxmoxer.tools import Tasks

from reconciler.testing.pvesim import PveSim

from .helpers import TEMPLATE, create_ct, wait


def test_create_writes_pve_defaults(pvesim: PveSim) -> None:
    api = pvesim.api()
    status = create_ct(
        api,
        107,
        rootfs="local-lvm:20",
        net1="name=eth1,bridge=vmbr0",
        tags="b, a;c",
        features="nesting=1",
    )
    assert status["exitstatus"] == "OK"
    assert status["type"] == "vzcreate" and status["user"] == "root@pam"
    assert status["tokenid"] == "reconciler"
    assert status["upid"].endswith(":vzcreate:107:root@pam!reconciler:")
    conf = api.nodes("pve").lxc(107).config.get()
    assert conf["hostname"] == "CT107"
    assert (conf["memory"], conf["swap"], conf["unprivileged"]) == (512, 512, 1)
    assert (conf["ostype"], conf["arch"]) == ("debian", "amd64")
    assert conf["rootfs"] == "local-lvm:vm-107-disk-0,size=20G"
    assert conf["tags"] == "b;a;c"
    assert conf["features"] == "nesting=1"
    for key in ("net0", "net1"):
        hw = conf[key].split("hwaddr=")[1].split(",")[0]
        assert int(hw.split(":")[0], 16) & 1 == 0  # unicast: I/G bit clear
        assert conf[key].endswith(",type=veth")
    assert len(conf["digest"]) == 40
    content = api.nodes("pve").storage("local-lvm").content.get(vmid=107)
    assert [(v["volid"], v["size"]) for v in content] == [("local-lvm:vm-107-disk-0", 20 * 2**30)]


def test_missing_rootfs_defaults_to_storage_4g(pvesim: PveSim) -> None:
    api = pvesim.api()
    wait(api, api.nodes("pve").lxc.post(vmid=100, ostemplate=TEMPLATE, storage="local-lvm"))
    assert api.nodes("pve").lxc(100).config.get()["rootfs"] == "local-lvm:vm-100-disk-0,size=4G"


def test_lock_create_visible_while_task_runs(pvesim_factory: Callable[..., PveSim]) -> None:
    sim = pvesim_factory(task_seconds=0.6)
    api = sim.api()
    upid = api.nodes("pve").lxc.post(vmid=100, ostemplate=TEMPLATE, rootfs="local-lvm:8")
    assert api.nodes("pve").tasks(upid).status.get()["status"] == "running"
    assert api.nodes("pve").lxc(100).config.get()["lock"] == "create"
    with pytest.raises(ResourceException) as exc:
        api.nodes("pve").lxc(100).config.put(memory=1024)
    assert exc.value.status_code == 500 and exc.value.content == "CT is locked (create)"
    status = wait(api, upid)
    assert status["exitstatus"] == "OK"
    assert "lock" not in api.nodes("pve").lxc(100).config.get()


def test_failed_create_removes_ct(pvesim: PveSim) -> None:
    api = pvesim.api()
    missing = "local:vztmpl/nope.tar.zst"
    upid = api.nodes("pve").lxc.post(vmid=100, ostemplate=missing, rootfs="local-lvm:8")
    status = wait(api, upid)
    assert status["exitstatus"] == f"unable to create CT 100 - volume '{missing}' does not exist"
    log = api.nodes("pve").tasks(upid).log.get()
    assert log[-1]["t"] == f"TASK ERROR: {status['exitstatus']}"
    assert api.cluster.resources.get(type="vm") == []
    assert api.nodes("pve").storage("local-lvm").content.get() == []


def test_create_sync_errors(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api, 100)
    cases: list[tuple[dict[str, Any], int, str, dict[str, str] | None]] = [
        ({"vmid": 100}, 500, "CT 100 already exists on node 'pve'", None),
        ({"vmid": 101, "rootfs": "foo:8"}, 500, "storage 'foo' does not exist", None),
        (
            {"vmid": 101, "rootfs": None},
            400,
            "Parameter verification failed.",
            {"storage": "storage 'local' does not support container directories"},
        ),
    ]
    for extra, code, text, errors in cases:
        params = {"ostemplate": TEMPLATE, "rootfs": "local-lvm:8", **extra}
        with pytest.raises(ResourceException) as exc:
            api.nodes("pve").lxc.post(**params)
        assert (exc.value.status_code, exc.value.content) == (code, text)
        assert exc.value.errors == errors


def test_power_cycle_and_errors(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api, 100)
    ct = api.nodes("pve").lxc(100)
    for action, text in (
        ("stop", "CT 100 not running"),
        ("shutdown", "CT 100 not running"),
        ("reboot", "VM 100 not running"),
    ):
        with pytest.raises(ResourceException) as exc:
            getattr(ct.status, action).post()
        assert exc.value.content == text
    assert wait(api, ct.status.start.post())["exitstatus"] == "OK"
    assert ct.status.current.get()["status"] == "running"
    with pytest.raises(ResourceException) as exc:
        ct.status.start.post()
    assert (exc.value.status_code, exc.value.content) == (500, "CT 100 already running")
    with pytest.raises(ResourceException) as exc:
        ct.delete()
    assert exc.value.content == "unable to destroy CT 100 - container is running"
    assert wait(api, ct.status.reboot.post())["type"] == "vzreboot"
    assert wait(api, ct.status.shutdown.post())["exitstatus"] == "OK"
    assert ct.status.current.get()["status"] == "stopped"
    assert wait(api, ct.delete())["type"] == "vzdestroy"
    with pytest.raises(ResourceException) as exc:
        ct.config.get()
    assert exc.value.content == "Configuration file 'nodes/pve/lxc/100.conf' does not exist"
    assert api.nodes("pve").storage("local-lvm").content.get() == []


def test_start_on_locked_ct_fails_in_task(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api, 100)
    api.nodes("pve").lxc(100).config.put(lock="backup")
    status = wait(api, api.nodes("pve").lxc(100).status.start.post())
    assert status["exitstatus"] == "CT is locked (backup)"
    assert api.nodes("pve").lxc(100).status.current.get()["status"] == "stopped"


def test_protection_blocks_delete(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api, 100, protection=1)
    with pytest.raises(ResourceException) as exc:
        api.nodes("pve").lxc(100).delete()
    assert exc.value.content == "can't remove CT 100 - protection mode enabled"


def test_blocking_status_with_task_duration(pvesim_factory: Callable[..., PveSim]) -> None:
    sim = pvesim_factory(task_seconds=0.3)
    api = sim.api()
    started = time.monotonic()
    upid = api.nodes("pve").lxc.post(vmid=100, ostemplate=TEMPLATE, rootfs="local-lvm:8")
    status = Tasks.blocking_status(api, upid, timeout=10, polling_interval=0.05)
    assert status is not None and status["exitstatus"] == "OK"
    assert time.monotonic() - started >= 0.3


def test_task_log_paging(pvesim: PveSim) -> None:
    api = pvesim.api()
    upid = create_ct(api)["upid"]
    log = api.nodes("pve").tasks(upid).log
    full = log.get(limit=0)
    assert [line["n"] for line in full] == list(range(1, len(full) + 1))
    assert full[-1] == {"n": len(full), "t": "TASK OK"}
    assert log.get(start=1, limit=2) == full[1:3]
    assert log.get() == full  # default limit 50
    assert log.get(start=100) == [{"n": 1, "t": "no content"}]


def test_resources_nodes_storage(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api, 100, hostname="minio", tags="lake")
    vms = api.cluster.resources.get(type="vm")
    assert [(v["id"], v["type"], v["name"], v["node"], v["tags"]) for v in vms] == [
        ("lxc/100", "lxc", "minio", "pve", "lake")
    ]
    assert [n["node"] for n in api.cluster.resources.get(type="node")] == ["pve"]
    storages = {s["storage"] for s in api.cluster.resources.get(type="storage")}
    assert storages == {"local", "local-lvm"}
    assert api.nodes.get()[0]["status"] == "online"
    rootdir = api.nodes("pve").storage.get(content="rootdir")
    assert [s["storage"] for s in rootdir] == ["local-lvm"]
    tmpl = api.nodes("pve").storage("local").content.get(content="vztmpl")
    assert [t["volid"] for t in tmpl] == [TEMPLATE]
    listed = api.nodes("pve").lxc.get()
    assert listed[0]["vmid"] == 100 and listed[0]["status"] == "stopped"


def test_locked_ct_refuses_delete_and_resize_synchronously(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api, 100)
    ct = api.nodes("pve").lxc(100)
    ct.config.put(lock="backup")
    for call in (ct.delete, lambda: ct.resize.put(disk="rootfs", size="+1G")):
        with pytest.raises(ResourceException) as exc:
            call()
        assert (exc.value.status_code, exc.value.content) == (500, "CT is locked (backup)")


def test_warnings_exit_status(pvesim: PveSim) -> None:
    api = pvesim.api()
    status = create_ct(api, 100, unused0="local-lvm:vm-100-disk-9")
    assert status["exitstatus"] == "WARNINGS: 1"
    assert api.nodes("pve").tasks(status["upid"]).log.get()[-1]["t"] == "TASK WARNINGS: 1"
    assert "unused0" not in api.nodes("pve").lxc(100).config.get()


def test_concurrent_creates_are_consistent(pvesim: PveSim) -> None:
    def make(vmid: int) -> str:
        return str(create_ct(pvesim.api(), vmid)["exitstatus"])

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(make, range(200, 212)))
    assert results == ["OK"] * 12
    api = pvesim.api()
    assert sorted(g["vmid"] for g in api.cluster.resources.get(type="vm")) == list(range(200, 212))
    vols = [v["volid"] for v in api.nodes("pve").storage("local-lvm").content.get()]
    assert len(vols) == len(set(vols)) == 12
