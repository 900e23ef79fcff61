"""An update touches only the mpN / netN its field paths name; the applier's last guard."""

from __future__ import annotations

from dataclasses import replace

import pytest

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
from reconciler.providers.proxmox.codec import CodecError, encode_update, parse_config
from reconciler.providers.proxmox.fieldpaths import item_scopes, keys_for_paths, scope_violation

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
    assert params == {
        "net0": "name=eth0,bridge=vmbr0,firewall=0,hwaddr=BC:24:11:00:00:00,"
        "ip=192.168.4.32/24,type=veth"
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


def test_scopes_and_keys_of_paths() -> None:
    paths = ["mountpoints[0].backup", "mountpoints[0].path", "network[1]", "network[1].ip"]
    mounts, nics = item_scopes(paths)
    assert mounts == {0: frozenset({"backup", "path"})}
    assert nics == {1: None}
    assert keys_for_paths([*paths, "memory", "dns.servers", "features.nesting"]) == {
        "mp0",
        "net1",
        "memory",
        "nameserver",
        "features",
    }


@pytest.mark.parametrize("path", ["mountpoints", "network.ip", "mountpoints[0].colour"])
def test_paths_that_name_no_single_item_are_refused(path: str) -> None:
    with pytest.raises(CodecError):
        keys_for_paths([path])


def test_guard_names_keys_no_path_maps_to() -> None:
    problem = scope_violation(["mountpoints[0].backup"], ["mp0"], ["mp1"], OBSERVED, True)
    assert problem is not None and "mp1" in problem and "mp0" not in problem
    assert scope_violation(["memory"], ["memory", "net1"], [], OBSERVED, True) is not None
    assert scope_violation(["mountpoints[0].backup"], ["mp0"], [], OBSERVED, False) is None


def test_guard_detaching_a_volume_needs_the_opt_in() -> None:
    paths = ["mountpoints[1].path", "mountpoints[2].path"]
    problem = scope_violation(paths, [], ["mp1", "mp2"], OBSERVED, False)
    assert problem is not None and "mp1" in problem and "mp2" not in problem
    assert scope_violation(paths, [], ["mp1", "mp2"], OBSERVED, True) is None
    # a bind mount carries no volume: removing it needs no opt-in
    assert scope_violation(["mountpoints[2].path"], [], ["mp2"], OBSERVED, False) is None


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
        "local-lvm:vm-107-disk-1,mp=/data,backup=0,acl=1,mountoptions=noatime,size=100G"
    )
    assert params["net0"] == (
        "name=eth0,bridge=vmbr0,firewall=0,hwaddr=BC:24:11:00:00:00,ip=192.168.4.32/24,"
        "type=veth,trunks=10;20"
    )
