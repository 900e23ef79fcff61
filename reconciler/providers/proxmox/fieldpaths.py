"""Plan field paths (spec terms) -> the PVE config keys they touch; pure."""

from __future__ import annotations

import re
from collections.abc import Iterable

from reconciler.model.containers import ContainerSpec, ObservedContainer
from reconciler.model.units import parse_bytes
from reconciler.providers.proxmox.propstring import CodecError

# Spec field path roots (spec camelCase and model snake_case) -> PVE key groups.
_PATH_GROUPS: dict[str, tuple[str, ...]] = {
    "hostname": ("hostname",),
    "description": ("description",),
    "memory": ("memory",),
    "memory_mib": ("memory",),
    "swap": ("swap",),
    "swap_mib": ("swap",),
    "cores": ("cores",),
    "cpulimit": ("cpulimit",),
    "cpuLimit": ("cpulimit",),
    "network": ("net",),
    "net": ("net",),
    "mountpoints": ("mp",),
    "mountPoints": ("mp",),
    "mp": ("mp",),
    "dns": ("nameserver", "searchdomain"),
    "nameservers": ("nameserver",),
    "nameserver": ("nameserver",),
    "searchdomain": ("searchdomain",),
    "features": ("features",),
    "onBoot": ("onboot",),
    "on_boot": ("onboot",),
    "onboot": ("onboot",),
    "startup": ("startup",),
    "tags": ("tags",),
    "protection": ("protection",),
    "ostype": ("ostype",),
}
_DNS_SUBPATHS = {"domain": "searchdomain", "servers": "nameserver"}
# Handled elsewhere: power state by start/stop, disk sizes by /resize, the rest is ours only.
_NOT_CONFIG = frozenset(
    {"state", "status", "rootfs", "dependsOn", "depends_on", "drift", "ignore", "labels"}
)
_READ_ONLY = frozenset(
    {"template", "unprivileged", "sshPublicKeys", "ssh_public_keys", "vmid", "node"}
)
_DISK_PATH = re.compile(r"^(rootfs|mountpoints\[(\d+)\])\.size$")
_PATH_ROOT = re.compile(r"^(?:settings\.)?([A-Za-z_]+)(?:\.([A-Za-z_]+))?")


def groups_for_paths(paths: Iterable[str]) -> set[str]:
    """Field paths (`memory`, `network[0].ip`, `dns.servers`) -> PVE key groups."""
    groups: set[str] = set()
    for path in paths:
        match = _PATH_ROOT.match(path)
        root, sub = (match.group(1), match.group(2)) if match else (path, None)
        if root in _READ_ONLY:
            raise CodecError(f"{path!r} cannot be changed on an existing container")
        if root in _NOT_CONFIG:
            continue
        if root == "dns" and sub in _DNS_SUBPATHS:
            groups.add(_DNS_SUBPATHS[sub])
            continue
        if root not in _PATH_GROUPS:
            raise CodecError(f"no PVE config key for field path {path!r}")
        groups.update(_PATH_GROUPS[root])
    return groups


def disk_for_path(path: str) -> str | None:
    """`rootfs.size` -> `rootfs`, `mountpoints[2].size` -> `mp2`; None for other paths."""
    match = _DISK_PATH.match(path)
    if match is None:
        return None
    return "rootfs" if match.group(2) is None else f"mp{match.group(2)}"


def wanted_size(spec: ContainerSpec, disk: str, after: object) -> int:
    settings = spec.settings
    if disk == "rootfs" and settings.rootfs is not None:
        return settings.rootfs.size_bytes
    for mount in settings.mountpoints:
        if f"mp{mount.id}" == disk and mount.volume is not None:
            return mount.volume.size_bytes
    return parse_bytes(after, "G")


def disk_size(observed: ObservedContainer, disk: str) -> int:
    settings = observed.settings
    if disk == "rootfs" and settings.rootfs is not None:
        return settings.rootfs.size_bytes
    for mount in settings.mountpoints:
        if f"mp{mount.id}" == disk and mount.volume is not None:
            return mount.volume.size_bytes
    raise CodecError(f"CT {observed.vmid} has no disk {disk}")
