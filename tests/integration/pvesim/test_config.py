"""PUT/GET config, pending semantics, resize and snapshots of the simulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from proxmoxer import ResourceException

from reconciler.testing.pvesim import PveSim

from .helpers import create_ct, wait


def _err(call: Callable[..., Any], *args: Any, **kwargs: Any) -> ResourceException:
    with pytest.raises(ResourceException) as exc:
        call(*args, **kwargs)
    return exc.value


def test_put_returns_null_and_digest_changes(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api)
    cfg = api.nodes("pve").lxc(100).config
    before = cfg.get()["digest"]
    assert cfg.put(memory=1024, digest=before, tags="x y,z") is None
    after = cfg.get()
    assert after["memory"] == 1024 and after["tags"] == "x;y;z"
    assert after["digest"] != before
    stale = _err(cfg.put, memory=2048, digest=before)
    assert stale.status_code == 500
    assert stale.content == (
        "detected modified configuration - file changed by other user? Try again."
    )
    assert cfg.get()["memory"] == 1024


def test_put_errors(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api)
    cfg = api.nodes("pve").lxc(100).config
    assert _err(cfg.put).content == "no options specified"
    assert (
        _err(cfg.put, unprivileged=0).content == "unable to modify read-only option: 'unprivileged'"
    )
    assert _err(cfg.put, delete="memory").content == "unable to delete required option 'memory'"
    unknown = _err(cfg.put, delete="bogus")
    assert (unknown.status_code, unknown.errors) == (400, {"delete": "unknown option 'bogus'"})
    both = _err(cfg.put, cores=2, delete="cores")
    assert both.errors == {"delete": "you can't use '-cores' and -delete cores' at the same time"}
    missing = _err(api.nodes("pve").lxc(999).config.put, cores=2)
    assert missing.content == "Configuration file 'nodes/pve/lxc/999.conf' does not exist"


def test_pending_on_running_ct(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api, timezone="Europe/Berlin")
    ct = api.nodes("pve").lxc(100)
    wait(api, ct.status.start.post())
    ct.config.put(cores=4, nameserver="10.0.0.1", delete="timezone")
    current = ct.config.get(current=1)
    assert current["cores"] == 4  # hot: applied live
    assert "nameserver" not in current
    assert current["timezone"] == "Europe/Berlin"
    shown = ct.config.get()
    assert shown["nameserver"] == "10.0.0.1" and "timezone" not in shown
    pending = {row["key"]: row for row in ct.pending.get()}
    assert pending["nameserver"] == {"key": "nameserver", "pending": "10.0.0.1"}
    assert pending["timezone"] == {"key": "timezone", "value": "Europe/Berlin", "delete": 1}
    assert pending["cores"] == {"key": "cores", "value": 4}
    wait(api, ct.status.reboot.post())
    applied = ct.config.get(current=1)
    assert applied["nameserver"] == "10.0.0.1" and "timezone" not in applied
    assert all("pending" not in row and "delete" not in row for row in ct.pending.get())


def test_revert_pending(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api)
    ct = api.nodes("pve").lxc(100)
    wait(api, ct.status.start.post())
    ct.config.put(searchdomain="lake.local")
    ct.config.put(revert="searchdomain")
    assert "searchdomain" not in ct.config.get()


def test_hotplug_unknown_bridge_is_400(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api)
    ct = api.nodes("pve").lxc(100)
    wait(api, ct.status.start.post())
    exc = _err(ct.config.put, net1="name=eth1,bridge=vmbr9")
    assert exc.errors == {"net1": "unable to hotplug net1: bridge 'vmbr9' does not exist"}


def test_put_allocates_mount_point_and_checks_storage(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api)
    cfg = api.nodes("pve").lxc(100).config
    cfg.put(mp0="local-lvm:10,mp=/srv/data,backup=1")
    assert cfg.get()["mp0"] == "local-lvm:vm-100-disk-1,mp=/srv/data,backup=1,size=10G"
    exc = _err(cfg.put, mp1="local:4,mp=/srv/x")
    assert exc.content == "storage 'local' does not allow content type 'rootdir' (Container)"
    assert _err(cfg.put, mp1="nope:4,mp=/srv/x").content == "storage 'nope' does not exist"
    cfg.put(delete="mp0")
    assert cfg.get()["unused0"] == "local-lvm:vm-100-disk-1"


def test_resize(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api)
    ct = api.nodes("pve").lxc(100)
    status = wait(api, ct.resize.put(disk="rootfs", size="+4G"))
    assert status["type"] == "resize" and status["exitstatus"] == "OK"
    assert ct.config.get()["rootfs"] == "local-lvm:vm-100-disk-0,size=12G"
    wait(api, ct.resize.put(disk="rootfs", size="20G"))
    assert ct.config.get()["rootfs"].endswith("size=20G")
    shrink = _err(ct.resize.put, disk="rootfs", size="10G")
    assert (shrink.status_code, shrink.content) == (500, "unable to shrink disk size")
    assert (
        _err(ct.resize.put, disk="rootfs", size="20G").content
        == "disk is already at specified size"
    )
    bad = _err(ct.resize.put, disk="rootfs", size="20X")
    assert bad.errors == {"size": "value does not match the regex pattern"}
    vol = api.nodes("pve").storage("local-lvm").content.get(vmid=100)[0]
    assert vol["size"] == 20 * 2**30


def test_snapshots(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api)
    ct = api.nodes("pve").lxc(100)
    assert wait(api, ct.snapshot.post(snapname="before", description="pre"))["exitstatus"] == "OK"
    ct.config.put(memory=2048)
    names = [s["name"] for s in ct.snapshot.get()]
    assert names == ["before", "current"]
    taken = wait(api, ct.snapshot.post(snapname="before"))
    assert taken["exitstatus"] == "snapshot name 'before' already used"
    reserved = _err(ct.snapshot.post, snapname="current")
    assert reserved.content == "unable to use snapshot name 'current' (reserved name)"
    assert wait(api, ct.snapshot("before").rollback.post())["exitstatus"] == "OK"
    assert ct.config.get()["memory"] == 512
    assert ct.snapshot("before").config.get()["description"] == "pre"
    missing = wait(api, ct.snapshot("nope").delete())
    assert missing["exitstatus"] == "snapshot 'nope' does not exist"
    wait(api, ct.snapshot("before").delete())
    assert [s["name"] for s in ct.snapshot.get()] == ["current"]


def test_create_with_start_and_rollback_with_start(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api, start=1)
    ct = api.nodes("pve").lxc(100)
    assert ct.status.current.get()["status"] == "running"
    wait(api, ct.snapshot.post(snapname="s1"))
    assert ct.config.get(snapshot="s1")["hostname"] == "CT100"
    wait(api, ct.snapshot("s1").rollback.post(start=1))
    assert ct.status.current.get()["status"] == "running"
    assert ct.config.get()["parent"] == "s1"
    assert [s.get("running") for s in ct.snapshot.get() if s["name"] == "current"] == [1]
