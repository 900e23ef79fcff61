"""PVE LXC payloads <-> model values (config, pending rows, resources); pure, no I/O.

Every PVE-specific key and format lives here and in `encode`/`propstring`;
the rest of the code base sees only `reconciler.model` types.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from reconciler.model.containers import (
    ContainerSettings,
    Features,
    GuestSummary,
    MountPoint,
    NetworkInterface,
    ObservedContainer,
    PowerState,
    Startup,
    Volume,
)
from reconciler.providers.proxmox.encode import encode_create, encode_update
from reconciler.providers.proxmox.propstring import (
    CodecError,
    get_str,
    normalise_tags,
    parse_bool,
    parse_disk_size,
    parse_float,
    parse_int,
    parse_opt_bool,
    parse_propstring,
    split_list,
)

__all__ = [
    "CodecError",
    "encode_create",
    "encode_update",
    "parse_config",
    "parse_guest",
    "parse_mountpoint",
    "parse_network",
    "parse_observed",
    "parse_pending",
    "volume_id",
]

T = TypeVar("T")
_NET_KEY = re.compile(r"^net(\d+)$")
_MP_KEY = re.compile(r"^mp(\d+)$")


def parse_config(config: Mapping[str, object], vmid: int | None = None) -> ContainerSettings:
    """A GET /config object (pending values applied) -> ContainerSettings. Unknown keys ignored."""
    hostname = get_str(config, "hostname") or (f"CT{vmid}" if vmid is not None else "")
    return ContainerSettings(
        hostname=hostname,
        memory_mib=parse_int(config.get("memory", 512)),
        swap_mib=parse_int(config.get("swap", 512)),
        cores=_opt(config, "cores", parse_int),
        cpulimit=_opt(config, "cpulimit", parse_float),
        description=_description(config.get("description")),
        rootfs=_rootfs(get_str(config, "rootfs")),
        mountpoints=_numbered(config, _MP_KEY, parse_mountpoint),
        network=_numbered(config, _NET_KEY, parse_network),
        searchdomain=get_str(config, "searchdomain"),
        nameservers=split_list(config.get("nameserver")),
        features=_features(get_str(config, "features")),
        on_boot=parse_bool(config.get("onboot")),
        startup=_startup(get_str(config, "startup")),
        tags=normalise_tags(split_list(config.get("tags"))),
        protection=parse_bool(config.get("protection")),
        unprivileged=parse_bool(config.get("unprivileged")),
        ostype=get_str(config, "ostype"),
    )


def parse_observed(
    config: Mapping[str, object],
    *,
    vmid: int,
    node: str,
    status: str,
    pending_keys: frozenset[str] = frozenset(),
    digest: str | None = None,
) -> ObservedContainer:
    """Config + the resources row's node/status -> ObservedContainer."""
    found = digest if digest is not None else get_str(config, "digest")
    return ObservedContainer(
        vmid=vmid,
        node=node,
        status=PowerState.RUNNING if status == "running" else PowerState.STOPPED,
        settings=parse_config(config, vmid),
        digest=found or "",
        lock=get_str(config, "lock"),
        pending_keys=pending_keys,
        template=parse_bool(config.get("template")),
    )


def parse_pending(
    rows: Iterable[Mapping[str, object]],
) -> tuple[dict[str, object], frozenset[str], str | None]:
    """GET /pending rows -> (config with pending applied, pending keys, digest or None).

    A row is `{key, value?, pending?, delete?}`; `delete` 1/2 means the key goes
    away at the next restart, so the applied view leaves it out.
    """
    applied: dict[str, object] = {}
    pending: set[str] = set()
    digest: str | None = None
    for row in rows:
        key = str(row["key"])
        if key == "digest":
            digest = get_str(row, "value")
            continue
        if parse_int(row.get("delete", 0)):
            pending.add(key)
            continue
        if row.get("pending") is not None:
            pending.add(key)
            applied[key] = row["pending"]
        elif row.get("value") is not None:
            applied[key] = row["value"]
    return applied, frozenset(pending), digest


def parse_guest(row: Mapping[str, object]) -> GuestSummary:
    """One `/cluster/resources?type=vm` row -> GuestSummary."""
    return GuestSummary(
        vmid=parse_int(row["vmid"]),
        node=str(row["node"]),
        kind=str(row.get("type", "")),
        name=str(row.get("name") or ""),
        status=str(row.get("status") or "unknown"),
        tags=normalise_tags(split_list(row.get("tags"))),
        lock=get_str(row, "lock") or None,
    )


def parse_network(index: int, text: str) -> NetworkInterface:
    """`name=eth0,bridge=vmbr0,firewall=1,gw=..,hwaddr=..,ip=../24,type=veth`."""
    props = parse_propstring(text)
    hwaddr = props.get("hwaddr")
    return NetworkInterface(
        index=index,
        name=props.get("name", ""),
        bridge=props.get("bridge", ""),
        ip=props.get("ip"),
        gateway=props.get("gw"),
        ip6=props.get("ip6"),
        gateway6=props.get("gw6"),
        firewall=parse_bool(props.get("firewall")),
        vlan=_opt(props, "tag", parse_int),
        mtu=_opt(props, "mtu", parse_int),
        rate=_opt(props, "rate", parse_float),
        hwaddr=hwaddr.upper() if hwaddr else None,
    )


def parse_mountpoint(index: int, text: str) -> MountPoint:
    """`local-lvm:vm-107-disk-1,mp=/data,backup=1,size=100G` or `/tank/lake,mp=/srv/lake`."""
    props = parse_propstring(text, default_key="volume")
    source = props.get("volume", "")
    path = props.get("mp", "")
    backup = parse_opt_bool(props.get("backup"))
    read_only = parse_bool(props.get("ro"))
    if source.startswith("/"):  # bind mount or device: no storage behind it
        return MountPoint(index, path, host_path=source, backup=backup, read_only=read_only)
    volume = Volume(_storage_of(source), _size(props))
    return MountPoint(index, path, volume=volume, backup=backup, read_only=read_only)


def volume_id(text: str) -> str:
    """The volume part of a rootfs/mpN value (`local-lvm:vm-107-disk-1`)."""
    return parse_propstring(text, default_key="volume").get("volume", "")


def _rootfs(text: str | None) -> Volume | None:
    if not text:
        return None
    props = parse_propstring(text, default_key="volume")
    return Volume(_storage_of(props.get("volume", "")), _size(props))


def _storage_of(volume: str) -> str:
    storage, sep, _ = volume.partition(":")
    if not sep:
        raise CodecError(f"not a storage volume: {volume!r}")
    return storage


def _size(props: Mapping[str, str]) -> int:
    size = props.get("size")
    return parse_disk_size(size) if size else 0


def _features(text: str | None) -> Features:
    if not text:
        return Features()
    props = parse_propstring(text)
    return Features(
        nesting=parse_bool(props.get("nesting")),
        keyctl=parse_bool(props.get("keyctl")),
        fuse=parse_bool(props.get("fuse")),
        mknod=parse_bool(props.get("mknod")),
        mount=tuple(sorted(split_list(props.get("mount")))),
    )


def _startup(text: str | None) -> Startup | None:
    """`[[order=]\\d+] [,up=\\d+] [,down=\\d+]`."""
    if not text:
        return None
    props = parse_propstring(text, default_key="order")
    return Startup(
        order=_opt(props, "order", parse_int),
        up_seconds=_opt(props, "up", parse_int),
        down_seconds=_opt(props, "down", parse_int),
    )


def _description(value: object) -> str | None:
    # PVE keeps the description as comment lines and returns it with a trailing newline.
    if value is None:
        return None
    text = str(value).rstrip("\n")
    return text or None


def _numbered(
    config: Mapping[str, object], pattern: re.Pattern[str], parse: Callable[[int, str], T]
) -> tuple[T, ...]:
    found: list[tuple[int, T]] = []
    for key, value in config.items():
        match = pattern.fullmatch(key)
        if match is not None and value is not None:
            index = int(match.group(1))
            found.append((index, parse(index, str(value))))
    return tuple(item for _, item in sorted(found, key=lambda pair: pair[0]))


def _opt(config: Mapping[str, object], key: str, parse: Callable[[object], T]) -> T | None:
    value = config.get(key)
    if value is None or value == "":
        return None
    return parse(value)
