"""Create/update parameters (the differ's operations as the applier sends them), and the
create -> PVE config -> parse round trip."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from pve_update_helper import encode_update

from reconciler.diff.container_writes import create_operation
from reconciler.model.containers import (
    CREATE_PENDING_TAG,
    OWNER_TAG,
    ContainerSettings,
    ContainerSpec,
    Features,
    MountPoint,
    NetworkInterface,
    ObservedContainer,
    PowerState,
    Startup,
    Volume,
)
from reconciler.model.units import GIB, MIB
from reconciler.providers.proxmox.decode import CodecError, parse_config


def encode_create(spec: ContainerSpec, node: str) -> dict[str, str | int]:
    """The POST parameters the differ's Create operation carries."""
    return dict(create_operation(spec, node, start=True).params)


SETTINGS = ContainerSettings(
    hostname="minio",
    memory_mib=2048,
    swap_mib=512,
    cores=2,
    cpulimit=1.5,
    description="MinIO object storage",
    rootfs=Volume("local-lvm", 20 * GIB),
    mountpoints=(
        MountPoint(0, "/data", volume=Volume("local-lvm", 100 * GIB), backup=True),
        MountPoint(1, "/srv/lake", host_path="/tank/lake"),
        MountPoint(2, "/tmpdata", volume=Volume("local-lvm", 512 * MIB), read_only=True),
    ),
    network=(
        NetworkInterface(
            0, "eth0", "vmbr0", ip="192.168.4.31/24", gateway="192.168.4.1", firewall=True
        ),
        NetworkInterface(1, "eth1", "vmbr1", ip="dhcp", vlan=40, mtu=9000, rate=12.5),
    ),
    searchdomain="gti.local",
    nameservers=("192.168.4.1", "1.1.1.1"),
    features=Features(nesting=True, keyctl=True, mount=("nfs",)),
    on_boot=True,
    startup=Startup(order=1, up_seconds=30, down_seconds=60),
    tags=("datalake", OWNER_TAG, "storage"),
    protection=True,
    unprivileged=True,
    ostype="debian",
)
SPEC = ContainerSpec(
    name="minio",
    vmid=107,
    node="pve",
    template="local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
    settings=SETTINGS,
    ssh_public_keys=("ssh-ed25519 AAAA1 a@b", "ssh-ed25519 AAAA2 c@d"),
)
_ALLOC = re.compile(r"^([^:,]+):(\d+(?:\.\d+)?)(,.*)?$")


def simulate_pve_create(params: dict[str, str | int]) -> dict[str, object]:
    """What PVE writes after a create task (reference notes, section 2): volumes
    allocated with `size=`, MACs generated, create-only keys dropped."""
    vmid = params["vmid"]
    config: dict[str, object] = {"digest": "d" * 40, "arch": "amd64"}
    disk = 0
    for key, value in params.items():
        if key in ("vmid", "ostemplate", "start", "ssh-public-keys"):
            continue
        text = str(value)
        match = _ALLOC.match(text) if key == "rootfs" or key.startswith("mp") else None
        if match:
            gib = float(match.group(2))
            size = f"{int(gib)}G" if gib == int(gib) else f"{int(gib * 1024)}M"
            text = f"{match.group(1)}:vm-{vmid}-disk-{disk},{(match.group(3) or ',')[1:]}"
            text = text.rstrip(",") + f",size={size}"
            disk += 1
        if key.startswith("net") and "hwaddr=" not in text:
            text += f",hwaddr=BC:24:11:00:00:0{key[3:]}"
        config[key] = value if isinstance(value, int) else text
    config.setdefault("hostname", f"CT{vmid}")
    return config


def test_create_params_use_pve_wire_forms() -> None:
    params = encode_create(SPEC, "pve")
    assert params["vmid"] == 107 and params["start"] == 0
    assert params["rootfs"] == "local-lvm:20"
    assert params["mp0"] == "local-lvm:100,mp=/data,backup=1"
    assert params["mp1"] == "/tank/lake,mp=/srv/lake"
    assert params["mp2"] == "local-lvm:0.5,mp=/tmpdata,ro=1"
    assert params["net0"] == (
        "name=eth0,bridge=vmbr0,firewall=1,gw=192.168.4.1,ip=192.168.4.31/24,type=veth"
    )
    assert (
        params["net1"]
        == "name=eth1,bridge=vmbr1,firewall=0,ip=dhcp,mtu=9000,rate=12.5,tag=40,type=veth"
    )
    assert params["tags"] == f"datalake;{OWNER_TAG};{CREATE_PENDING_TAG};storage"
    assert params["features"] == "keyctl=1,mount=nfs,nesting=1"
    assert params["startup"] == "order=1,up=30,down=60"
    assert params["nameserver"] == "192.168.4.1 1.1.1.1"
    assert params["ssh-public-keys"] == "ssh-ed25519 AAAA1 a@b\nssh-ed25519 AAAA2 c@d"
    assert params["cpulimit"] == "1.5"
    for key in ("onboot", "protection", "unprivileged"):
        assert params[key] == 1  # never Python True: PVE answers 400 to "True"
    assert not any(isinstance(v, bool) for v in params.values())


def test_create_then_pve_config_parses_back_to_the_same_settings() -> None:
    config = simulate_pve_create(encode_create(SPEC, "pve"))
    parsed = parse_config(config, 107)
    expected_tags = tuple(sorted((*SETTINGS.tags, CREATE_PENDING_TAG)))
    generated = tuple(
        replace(n, hwaddr=p.hwaddr) for n, p in zip(SETTINGS.network, parsed.network, strict=True)
    )
    assert parsed == replace(SETTINGS, tags=expected_tags, network=generated)
    assert all(nic.hwaddr for nic in parsed.network)


def test_minimal_spec_creates_without_optional_keys() -> None:
    spec = ContainerSpec("tiny", 300, None, "local:vztmpl/alpine.tar.xz", ContainerSettings("tiny"))
    params = encode_create(spec, "pve")
    assert set(params) == {
        "vmid",
        "ostemplate",
        "start",
        "hostname",
        "memory",
        "swap",
        "onboot",
        "protection",
        "tags",
        "unprivileged",
    }
    with pytest.raises(CodecError):
        encode_create(spec, "")


def _observed(settings: ContainerSettings) -> ObservedContainer:
    return ObservedContainer(107, "pve", PowerState.RUNNING, settings, "d" * 40)


def _current() -> tuple[ObservedContainer, dict[str, object]]:
    config = simulate_pve_create(encode_create(SPEC, "pve"))
    return _observed(parse_config(config, 107)), config


def test_update_sends_only_the_changed_keys() -> None:
    observed, raw = _current()
    spec = replace(SPEC, settings=replace(SETTINGS, memory_mib=4096, cores=None))
    params, delete = encode_update(spec, observed, ["memory", "cores", "hostname"], raw)
    assert params == {"memory": 4096}
    assert delete == ["cores"]


def test_update_tags_drop_the_pending_tag_and_keep_ownership() -> None:
    observed, raw = _current()
    params, delete = encode_update(SPEC, observed, ["tags"], raw)
    assert params == {"tags": f"datalake;{OWNER_TAG};storage"}
    assert delete == []


def test_update_network_keeps_generated_mac_and_deletes_removed_nic() -> None:
    observed, raw = _current()
    eth0 = replace(SETTINGS.network[0], ip="192.168.4.32/24")
    spec = replace(SPEC, settings=replace(SETTINGS, network=(eth0,)))
    params, delete = encode_update(spec, observed, ["network[0].ip", "network[1].name"], raw)
    assert params == {
        "net0": "name=eth0,bridge=vmbr0,firewall=1,gw=192.168.4.1,ip=192.168.4.32/24,type=veth,"
        "hwaddr=BC:24:11:00:00:00"
    }
    assert delete == ["net1"]


def test_update_mountpoint_reuses_its_volume_and_allocates_new_ones() -> None:
    observed, raw = _current()
    data = replace(SETTINGS.mountpoints[0], path="/srv/data", volume=Volume("local-lvm", 200 * GIB))
    new = MountPoint(5, "/logs", volume=Volume("local-lvm", 2 * GIB))
    mounts = (data, SETTINGS.mountpoints[1], new)
    spec = replace(SPEC, settings=replace(SETTINGS, mountpoints=mounts))
    paths = [
        "mountpoints[0].path",
        "mountpoints[0].size",
        "mountpoints[2].path",
        "mountpoints[2].size",
        "mountpoints[5].path",
        "mountpoints[5].storage",
        "mountpoints[5].size",
    ]
    params, delete = encode_update(spec, observed, paths, raw)
    # the size change is left to /resize; the existing volume id is kept
    assert params == {
        "mp0": "local-lvm:vm-107-disk-1,mp=/srv/data,backup=1,size=100G",
        "mp5": "local-lvm:2,mp=/logs,backup=0",
    }
    assert delete == ["mp2"]


def test_update_dns_subpaths_and_features() -> None:
    observed, raw = _current()
    settings = replace(SETTINGS, nameservers=(), searchdomain="lake.local", features=Features())
    spec = replace(SPEC, settings=settings)
    params, delete = encode_update(
        spec, observed, ["dns.domain", "dns.servers", "features.nesting"], raw
    )
    assert params == {"searchdomain": "lake.local"}
    assert delete == ["features", "nameserver"]


def test_update_without_real_difference_is_empty_and_noise_paths_are_skipped() -> None:
    observed, raw = _current()
    spec = replace(SPEC, settings=replace(SETTINGS, tags=observed.settings.tags))
    assert encode_update(spec, observed, ["memory", "rootfs.size", "mountpoints[0].size"], raw) == (
        {},
        [],
    )


@pytest.mark.parametrize(
    "path",
    ["template", "sshPublicKeys", "colour", "mountpoints", "network", "net", "state"],
)
def test_update_refuses_read_only_and_unknown_paths(path: str) -> None:
    observed, raw = _current()
    with pytest.raises(CodecError):
        encode_update(SPEC, observed, [path], raw)


def test_update_never_moves_a_mountpoint_to_other_storage() -> None:
    """The differ refuses a storage change; were it ever named, PUT config sends nothing."""
    observed, raw = _current()
    moved = replace(SETTINGS.mountpoints[0], volume=Volume("ceph", 100 * GIB))
    spec = replace(SPEC, settings=replace(SETTINGS, mountpoints=(moved, *SETTINGS.mountpoints[1:])))
    assert encode_update(spec, observed, ["mountpoints[0].storage"], raw) == ({}, [])
