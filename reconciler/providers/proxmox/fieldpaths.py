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
# `mountpoints[3].backup`, `network[0]`: one list item (PVE key mpN / netN), maybe one sub-key.
_ITEM_PATH = re.compile(
    r"^(?:settings\.)?(mountpoints|mountPoints|mp|network|net)\[(\d+)\](?:\.([A-Za-z_]+))?$"
)
_ITEM_PREFIX = {
    "mountpoints": "mp",
    "mountPoints": "mp",
    "mp": "mp",
    "network": "net",
    "net": "net",
}
# Spec sub-key -> model attribute; a PUT re-sends the item with only these taken from the spec.
MOUNT_ATTRS = {
    "path": "path",
    "storage": "volume",
    "size": "volume",
    "hostPath": "host_path",
    "host_path": "host_path",
    "backup": "backup",
    "readOnly": "read_only",
    "read_only": "read_only",
}
_NIC_NAMES = (
    "name",
    "bridge",
    "ip",
    "gateway",
    "ip6",
    "gateway6",
    "firewall",
    "vlan",
    "mtu",
    "rate",
    "hwaddr",
)
NIC_ATTRS = {key: key for key in _NIC_NAMES}
Scope = dict[int, frozenset[str] | None]  # item id -> named sub-keys; None: the whole item


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


def _item(path: str) -> tuple[str, int, str | None] | None:
    """`mountpoints[3].backup` -> ("mp", 3, "backup"); None for a path outside the lists."""
    match = _ITEM_PATH.fullmatch(path)
    if match is None:
        return None
    prefix, sub = _ITEM_PREFIX[match.group(1)], match.group(3)
    if sub is not None and sub not in (MOUNT_ATTRS if prefix == "mp" else NIC_ATTRS):
        raise CodecError(f"no PVE config key for field path {path!r}")
    return prefix, int(match.group(2)), sub


def item_scopes(paths: Iterable[str]) -> tuple[Scope, Scope]:
    """(mount points, NICs) the paths name: id -> sub-keys, None when a path names the item."""
    scopes: dict[str, Scope] = {"mp": {}, "net": {}}
    for path in paths:
        parsed = _item(path)
        if parsed is None:
            continue
        prefix, item, sub = parsed
        scope = scopes[prefix]
        if item in scope and scope[item] is None:
            continue  # already the whole item
        scope[item] = None if sub is None else (scope.get(item) or frozenset()) | {sub}
    return scopes["mp"], scopes["net"]


def keys_for_paths(paths: Iterable[str]) -> set[str]:
    """Field paths -> the exact PVE config keys they may touch (`mountpoints[1].path` -> mp1).

    A path naming a whole list (`mountpoints`, `network`) is an error: it would let a
    PUT rewrite or delete items the plan line never showed.
    """
    keys: set[str] = set()
    for path in paths:
        parsed = _item(path)
        if parsed is not None:
            keys.add(f"{parsed[0]}{parsed[1]}")
            continue
        groups = groups_for_paths([path])
        if groups & {"mp", "net"}:
            raise CodecError(f"field path {path!r} names no mount point id or NIC index")
        keys |= groups
    return keys


def scope_violation(
    paths: Iterable[str],
    params: Iterable[str],
    delete: Iterable[str],
    observed: ObservedContainer,
    destructive_allowed: bool,
) -> str | None:
    """Why a PUT of `params`/`delete` must not be sent for these paths; None when it may.

    The last guard before PVE: every key written must come from a field path of the
    line, and detaching a volume needs the line's (and spec's) destructive opt-in.
    """
    allowed = keys_for_paths(paths)
    stray = sorted(({*params} | {*delete}) - allowed)
    if stray:
        return f"the PUT would touch {', '.join(stray)}, which no field path of the line names"
    volumes = {f"mp{m.id}" for m in observed.settings.mountpoints if m.volume is not None}
    detached = sorted(set(delete) & volumes)
    if detached and not destructive_allowed:
        return (
            f"removing {', '.join(detached)} detaches a volume; the line lacks allow_destructive "
            "or the spec lacks allowDestructive: true"
        )
    return None


def disk_for_path(path: str) -> str | None:
    """`rootfs.size` -> `rootfs`, `mountpoints[2].size` -> `mp2`; None for other paths."""
    match = _DISK_PATH.fullmatch(path)
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
