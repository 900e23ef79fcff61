"""An update touches only the mpN / netN sub-keys its field paths name (the differ's
operations as the applier sends them over the current config)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pve_update_helper import encode_update

from reconciler.model.containers import (
    OWNER_TAG,
    ContainerSpec,
    MountPoint,
    NetworkInterface,
    ObservedContainer,
    PowerState,
    Volume,
)
from reconciler.model.units import GIB
from reconciler.providers.proxmox.decode import CodecError, parse_config

# A CT as PVE returns it: mp0 in backups, mp1 a second volume, mp2 a bind mount, two NICs.
RAW: dict[str, object] = {
    "hostname": "minio",
    "memory": 2048,
    "swap": 512,
    "ostype": "debian",
    "unprivileged": 1,
    "tags": f"datalake;{OWNER_TAG}",
    "rootfs": "local-lvm:vm-107-disk-0,size=8G",
    "mp0": "local-lvm:vm-107-disk-1,mp=/data,backup=1,size=100G",
    "mp1": "local-lvm:vm-107-disk-2,mp=/scratch,size=10G",
    "mp2": "/tank/lake,mp=/srv/lake",
    "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:00,ip=192.168.4.31/24,type=veth",
    "net1": "name=eth1,bridge=vmbr1,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth",
    "digest": "d" * 40,
}
OBSERVED = ObservedContainer(107, "pve", PowerState.RUNNING, parse_config(RAW, 107), "d" * 40)
DATA = MountPoint(0, "/data", volume=Volume("local-lvm", 100 * GIB), backup=False)
ETH0 = NetworkInterface(0, "eth0", "vmbr0", ip="192.168.4.31/24")


def _spec(
    mounts: tuple[MountPoint, ...] = (DATA,), nics: tuple[NetworkInterface, ...] = (ETH0,)
) -> ContainerSpec:
    settings = replace(OBSERVED.settings, mountpoints=mounts, network=nics)
    template = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
    return ContainerSpec("minio", 107, "pve", template, settings)


def test_backup_update_leaves_a_refused_removal_and_other_mounts_alone() -> None:
    """The code-review case: mp1 left the spec (refused), only mp0.backup is planned."""
    params, delete = encode_update(_spec(), OBSERVED, ["mountpoints[0].backup"], RAW)
    # `size` is PVE's own record of the volume: kept, or the next read would see 0B
    assert params == {"mp0": "local-lvm:vm-107-disk-1,mp=/data,backup=0,size=100G"}
    assert delete == []


def test_nic_update_leaves_an_ignored_nic_alone() -> None:
    eth0 = replace(ETH0, ip="192.168.4.32/24")
    params, delete = encode_update(_spec(nics=(eth0,)), OBSERVED, ["network[0].ip"], RAW)
    # only the named sub-key changes; firewall (absent) stays absent, net1 is not touched
    assert params == {
        "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:00,ip=192.168.4.32/24,type=veth"
    }
    assert delete == []


def test_unnamed_sub_keys_of_a_named_item_keep_pve_values() -> None:
    """`ignore: [network[0].bridge]`: the bridge the spec differs on is not sent."""
    eth0 = replace(ETH0, bridge="vmbr9", ip="192.168.4.32/24")
    data = replace(DATA, path="/elsewhere")  # backup=False
    spec = _spec(mounts=(data,), nics=(eth0,))
    paths = ["network[0].ip", "mountpoints[0].backup"]
    params, _ = encode_update(spec, OBSERVED, paths, RAW)
    assert "bridge=vmbr0" in str(params["net0"]) and "ip=192.168.4.32/24" in str(params["net0"])
    assert params["mp0"] == "local-lvm:vm-107-disk-1,mp=/data,backup=0,size=100G"


def test_named_removals_delete_only_their_keys() -> None:
    paths = ["mountpoints[1].path", "mountpoints[1].size", "network[1].ip", "network[1].name"]
    params, delete = encode_update(_spec(), OBSERVED, paths, RAW)
    assert params == {}
    assert delete == ["mp1", "net1"]


@pytest.mark.parametrize("path", ["mountpoints", "network.ip", "mountpoints[0].colour", "net"])
def test_paths_that_name_no_single_item_are_refused(path: str) -> None:
    with pytest.raises(CodecError):
        encode_update(_spec(), OBSERVED, [path], RAW)


def test_detaching_a_volume_needs_the_lines_opt_in() -> None:
    paths = ["mountpoints[1].path", "mountpoints[2].path"]
    with pytest.raises(CodecError, match="mp1"):
        encode_update(_spec(), OBSERVED, paths, RAW, destructive=False)
    assert encode_update(_spec(), OBSERVED, paths, RAW, destructive=True) == ({}, ["mp1", "mp2"])
    # a bind mount carries no volume: removing it needs no opt-in
    only_bind = encode_update(_spec(), OBSERVED, ["mountpoints[2].path"], RAW, destructive=False)
    assert only_bind == ({}, ["mp2"])


def test_keys_the_model_does_not_manage_are_re_sent_as_pve_has_them() -> None:
    raw = {
        **RAW,
        "mp0": "local-lvm:vm-107-disk-1,mp=/data,acl=1,backup=1,mountoptions=noatime,size=100G",
        "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:00,ip=192.168.4.31/24,"
        "trunks=10;20,type=veth",
    }
    observed = replace(OBSERVED, settings=parse_config(raw, 107))
    eth0 = replace(ETH0, ip="192.168.4.32/24")
    paths = ["mountpoints[0].backup", "network[0].ip"]
    params, _ = encode_update(_spec(nics=(eth0,)), observed, paths, raw)
    assert params["mp0"] == (
        "local-lvm:vm-107-disk-1,mp=/data,acl=1,backup=0,mountoptions=noatime,size=100G"
    )
    assert params["net0"] == (
        "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:00,ip=192.168.4.32/24,trunks=10;20,type=veth"
    )
