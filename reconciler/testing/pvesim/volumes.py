"""Storage and volume rules: lookups, allocation names, sizes, rootdir checks; no I/O."""

from __future__ import annotations

import re
from typing import Any

from .errors import ApiError, fail
from .formats import parse_volid
from .state import GIB, Cluster, Guest, Storage, Volume

_ALLOC = re.compile(r"^([^:\s]+):(\d+(\.\d+)?)$")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([KMGT])?$")
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_ROOTDIR = "rootdir"


def parse_size(text: str) -> int:
    """`20G` / `512M` / plain bytes -> bytes."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(text)
    return int(float(m.group(1)) * _UNITS[m.group(2) or ""])


def format_size(size: int) -> str:
    """Bytes -> PVE's `size=` text: the largest unit that divides evenly."""
    for unit in ("T", "G", "M", "K"):
        if size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return str(size)


def storage_of(cl: Cluster, name: str) -> Storage:
    """The storage or PVE's `storage 'x' does not exist` (500)."""
    st = cl.storages.get(name)
    if st is None:
        raise fail(f"storage '{name}' does not exist")
    return st


def storage_on_node(cl: Cluster, name: str, node: str) -> Storage:
    """The storage, checked to be enabled and available on `node`."""
    st = storage_of(cl, name)
    if not st.enabled:
        raise fail(f"storage '{name}' is disabled")
    if st.nodes and node not in st.nodes:
        raise fail(f"storage '{name}' is not available on node '{node}'")
    return st


def alloc_request(volume: str) -> tuple[str, float] | None:
    """`local-lvm:20` -> ("local-lvm", 20.0): a request to allocate a new volume."""
    m = _ALLOC.match(volume)
    return (m.group(1), float(m.group(2))) if m else None


def mount_type(volume: str) -> str:
    """PVE's mount point classification: volume, bind (host dir) or device."""
    if volume.startswith("/dev/"):
        return "device"
    if volume.startswith("/"):
        return "bind"
    return "volume"


def require_rootdir(st: Storage) -> None:
    """PUT-time check that a storage can hold container volumes."""
    if _ROOTDIR not in st.content:
        raise fail(f"storage '{st.storage}' does not allow content type 'rootdir' (Container)")


def supports_rootdir(st: Storage) -> bool:
    """True when the storage may hold container root/mount volumes."""
    return _ROOTDIR in st.content


def allocate(cl: Cluster, storage: str, vmid: int, size_gib: float, node: str) -> Volume:
    """Allocate `vm-<vmid>-disk-<n>` on a storage; naming follows the storage type."""
    st = storage_on_node(cl, storage, node)
    require_rootdir(st)
    idx = 0
    while _volname(st, vmid, idx) in cl.volumes:
        idx += 1
    size = int(size_gib * GIB)
    fmt = "subvol" if st.type == "zfspool" else "raw"
    vol = Volume(_volname(st, vmid, idx), _ROOTDIR, size, fmt, vmid, 0)
    cl.volumes[vol.volid] = vol
    return vol


def _volname(st: Storage, vmid: int, idx: int) -> str:
    if st.type == "dir":
        return f"{st.storage}:{vmid}/vm-{vmid}-disk-{idx}.raw"
    if st.type == "zfspool":
        return f"{st.storage}:subvol-{vmid}-disk-{idx}"
    return f"{st.storage}:vm-{vmid}-disk-{idx}"


def used_bytes(cl: Cluster, storage: str) -> int:
    """Sum of volume sizes on a storage."""
    prefix = f"{storage}:"
    return sum(v.size for v in cl.volumes.values() if v.volid.startswith(prefix))


def register_config_volumes(cl: Cluster, guest: Guest) -> None:
    """Create volume records for the rootfs/mpN volumes a seeded config mentions."""
    from .validate import parse_propstr  # late: validate is heavier and only needed here

    for key, value in guest.config.items():
        if key != "rootfs" and not re.fullmatch(r"mp\d+", key):
            continue
        fmt = "rootfs" if key == "rootfs" else "mp"
        props: dict[str, Any] = parse_propstr(fmt, str(value), "8.3")
        volid = str(props["volume"])
        if mount_type(volid) != "volume" or parse_volid(volid) is None or volid in cl.volumes:
            continue
        size = parse_size(str(props.get("size", "8G")))
        cl.volumes[volid] = Volume(volid, _ROOTDIR, size, "raw", guest.vmid, 0)


def template_volume(cl: Cluster, volid: str) -> Volume:
    """The template volume, or the text a worker dies with."""
    vol = cl.volumes.get(volid)
    if vol is None:
        raise ApiError(500, f"volume '{volid}' does not exist")
    return vol
