"""Per-attribute normalisation, PVE encoding and spec flattening of container settings;
pure. The registry (plan.container_fields) names which function serves which field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from reconciler.model.containers import (
    CREATE_PENDING_TAG,
    OWNER_TAG,
    Features,
    MountPoint,
    NetworkInterface,
    Startup,
    Volume,
)
from reconciler.model.units import format_bytes
from reconciler.plan.change import JSONValue
from reconciler.plan.container_items import NIC_FIELDS
from reconciler.plan.pve_text import (
    CodecError,
    format_gib,
    format_number,
    format_propstring,
    normalise_tags,
    to_flag,
)

Flat = dict[str, JSONValue]
PveValue = str | int


# -- normalisation -------------------------------------------------------------------------


def text(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()  # PVE appends a newline to descriptions
    return stripped or None


def lower(value: str | None) -> str | None:
    stripped = text(value)
    return stripped.lower() if stripped is not None else None


def norm_mount(mp: MountPoint) -> MountPoint:
    # PVE leaves volume mount points out of backups unless backup=1; bind mounts have none.
    backup = bool(mp.backup) if mp.volume is not None else None
    return replace(mp, path=mp.path.rstrip("/") or "/", backup=backup)


def norm_nic(nic: NetworkInterface) -> NetworkInterface:
    return replace(
        nic,
        ip=lower(nic.ip),
        gateway=lower(nic.gateway),
        ip6=lower(nic.ip6),
        gateway6=lower(nic.gateway6),
        hwaddr=nic.hwaddr.upper() if nic.hwaddr else None,
        rate=float(nic.rate) if nic.rate else None,
    )


def norm_startup(startup: Startup | None) -> Startup | None:
    return None if startup is None or startup == Startup() else startup


# -- encoding (model -> PVE values) --------------------------------------------------------


def one(key: str, value: PveValue | None) -> dict[str, PveValue | None]:
    return {key: value}


def encode_features(f: Features) -> str | None:
    flags = [
        ("fuse", f.fuse),
        ("keyctl", f.keyctl),
        ("mknod", f.mknod),
        ("mount", ";".join(f.mount) or None),
        ("nesting", f.nesting),
    ]
    return format_propstring((key, value) for key, value in flags if value) or None


def encode_startup(startup: Startup | None) -> str | None:
    if startup is None:
        return None
    text = format_propstring(
        [("order", startup.order), ("up", startup.up_seconds), ("down", startup.down_seconds)]
    )
    return text or None


def encode_tags(tags: tuple[str, ...], *, pending: bool = False) -> str:
    """`a;b;c` with OWNER_TAG always and CREATE_PENDING_TAG while a create is in flight."""
    extra = (OWNER_TAG, CREATE_PENDING_TAG) if pending else (OWNER_TAG,)
    return ";".join(normalise_tags((*tags, *extra)))


def nic_props(nic: NetworkInterface) -> dict[str, PveValue | None]:
    """netN sub-keys of one NIC (None: absent), booleans as 1/0."""
    props: dict[str, PveValue | None] = {}
    for f in NIC_FIELDS:
        value = getattr(nic, f.attr)
        props[f.pve] = sub_value(value)
    if not nic.bridge:
        props["bridge"] = None
    props["type"] = "veth"
    return props


def sub_value(value: object) -> PveValue | None:
    """A model value as a property-string value: booleans 1/0, whole floats without `.0`."""
    if value is None:
        return None
    if isinstance(value, bool):
        return to_flag(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, int):
        return value
    return str(value)


def encode_nic(nic: NetworkInterface) -> str:
    props = nic_props(nic)
    first = ("name", "bridge")
    ordered = [*first, *sorted(k for k in props if k not in first)]
    return format_propstring([(k, props[k]) for k in ordered])


def mount_source(mount: MountPoint) -> str:
    """A new mount point's volume: the host path of a bind mount, else `storage:GiB`."""
    if mount.host_path is not None:
        return mount.host_path
    if mount.volume is None:
        raise CodecError("a mount point needs a volume or a host path")
    return f"{mount.volume.storage}:{format_gib(mount.volume.size_bytes)}"


def mount_props(mount: MountPoint) -> dict[str, PveValue | None]:
    """mpN sub-keys the model decides, except the volume (None: absent)."""
    return {
        "mp": mount.path,
        "backup": sub_value(mount.backup),
        "ro": 1 if mount.read_only else None,
    }


def encode_mount(mount: MountPoint) -> str:
    """A new mount point: `storage:GiB,mp=/data,backup=1` (or a host path)."""
    pairs = [("volume", mount_source(mount)), *mount_props(mount).items()]
    return format_propstring(pairs, default_key="volume")


def encode_rootfs(volume: Volume | None) -> dict[str, PveValue | None]:
    if volume is None:
        return {"rootfs": None}
    return {"rootfs": f"{volume.storage}:{format_gib(volume.size_bytes)}"}


def flag(key: str) -> Callable[[bool], dict[str, PveValue | None]]:
    return lambda value: {key: to_flag(value)}


# -- flattening (model -> spec field paths) ------------------------------------------------


def _size_text(volume: Volume | None) -> str | None:
    return format_bytes(volume.size_bytes) if volume is not None else None


def _seconds(value: int | None) -> str | None:
    return f"{value}s" if value is not None else None


def flat_rootfs(volume: Volume | None) -> Flat:
    if volume is None:
        return {}
    return {"rootfs.storage": volume.storage, "rootfs.size": _size_text(volume)}


def flat_mounts(mounts: tuple[MountPoint, ...]) -> Flat:
    flat: Flat = {}
    for mp in mounts:
        prefix = f"mountpoints[{mp.id}]"
        flat[f"{prefix}.path"] = mp.path
        flat[f"{prefix}.storage"] = mp.volume.storage if mp.volume else None
        flat[f"{prefix}.size"] = _size_text(mp.volume)
        flat[f"{prefix}.hostPath"] = mp.host_path
        flat[f"{prefix}.backup"] = mp.backup
        flat[f"{prefix}.readOnly"] = mp.read_only
    return flat


def flat_nics(nics: tuple[NetworkInterface, ...]) -> Flat:
    flat: Flat = {}
    for nic in nics:
        for f in NIC_FIELDS:
            flat[f"network[{nic.index}].{f.path}"] = getattr(nic, f.attr)
    return flat


def flat_features(f: Features) -> Flat:
    return {
        "features.nesting": f.nesting,
        "features.keyctl": f.keyctl,
        "features.fuse": f.fuse,
        "features.mknod": f.mknod,
        "features.mount": list(f.mount),
    }


def flat_startup(startup: Startup | None) -> Flat:
    if startup is None:
        return {}
    return {
        "startup.order": startup.order,
        "startup.upDelay": _seconds(startup.up_seconds),
        "startup.downDelay": _seconds(startup.down_seconds),
    }


def path_value(path: str) -> Callable[[Any], Flat]:
    return lambda value: {path: value}


def mp_id(mp: MountPoint) -> int:
    return mp.id


def nic_index(nic: NetworkInterface) -> int:
    return nic.index
