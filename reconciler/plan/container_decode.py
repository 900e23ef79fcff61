"""Per-attribute decoding of a PVE LXC config into model values; pure. The registry
(plan.container_fields) names which function serves which field."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from reconciler.model.containers import Features, MountPoint, NetworkInterface, Startup, Volume
from reconciler.plan.pve_text import (
    CodecError,
    get_str,
    parse_bool,
    parse_disk_size,
    parse_float,
    parse_int,
    parse_opt_bool,
    parse_propstring,
    split_list,
)

Config = Mapping[str, object]


# -- decoding (PVE config -> model) --------------------------------------------------------

NET_KEY = re.compile(r"^net(\d+)$")
MP_KEY = re.compile(r"^mp(\d+)$")


def decode_nic(index: int, text: str) -> NetworkInterface:
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


def decode_mount(index: int, text: str) -> MountPoint:
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


def disk_bytes(text: str) -> int:
    """The `size=` of a rootfs/mpN value in bytes (0 when absent)."""
    return _size(parse_propstring(text, default_key="volume"))


def decode_rootfs(config: Config) -> Volume | None:
    text = get_str(config, "rootfs")
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


def decode_features(config: Config) -> Features:
    text = get_str(config, "features")
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


def decode_startup(config: Config) -> Startup | None:
    """`[[order=]\\d+] [,up=\\d+] [,down=\\d+]`."""
    text = get_str(config, "startup")
    if not text:
        return None
    props = parse_propstring(text, default_key="order")
    return Startup(
        order=_opt(props, "order", parse_int),
        up_seconds=_opt(props, "up", parse_int),
        down_seconds=_opt(props, "down", parse_int),
    )


def decode_description(config: Config) -> str | None:
    # PVE keeps the description as comment lines and returns it with a trailing newline.
    value = config.get("description")
    if value is None:
        return None
    return str(value).rstrip("\n") or None


def numbered(config: Config, pattern: re.Pattern[str], parse: Callable[[int, str], Any]) -> Any:
    found: list[tuple[int, Any]] = []
    for key, value in config.items():
        match = pattern.fullmatch(key)
        if match is not None and value is not None:
            index = int(match.group(1))
            found.append((index, parse(index, str(value))))
    return tuple(item for _, item in sorted(found, key=lambda pair: pair[0]))


def _opt(config: Mapping[str, object], key: str, parse: Callable[[object], Any]) -> Any:
    value = config.get(key)
    if value is None or value == "":
        return None
    return parse(value)


def opt_key(key: str, parse: Callable[[object], Any]) -> Callable[[Config], Any]:
    return lambda config: _opt(config, key, parse)
