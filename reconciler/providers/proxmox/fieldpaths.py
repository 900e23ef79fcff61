"""Plan field paths (spec terms) -> the PVE config keys they touch; pure."""

from __future__ import annotations

import re
from collections.abc import Iterable

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
_READ_ONLY = frozenset({"template", "unprivileged", "sshPublicKeys", "ssh_public_keys", "vmid"})
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
