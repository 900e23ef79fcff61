"""Model values -> POST/PUT parameters for PVE LXC endpoints; pure, never sends anything.

Booleans are always 1/0 (PVE rejects True/False in a form body). An update
names only the PVE keys of the changed field paths, so a PUT never rewrites
what the plan did not show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TypeVar

from reconciler.model.containers import (
    CREATE_PENDING_TAG,
    OWNER_TAG,
    ContainerSettings,
    ContainerSpec,
    Features,
    MountPoint,
    NetworkInterface,
    ObservedContainer,
    Startup,
    Volume,
)
from reconciler.providers.proxmox.fieldpaths import (
    MOUNT_ATTRS,
    NIC_ATTRS,
    Scope,
    item_scopes,
    keys_for_paths,
)
from reconciler.providers.proxmox.propstring import (
    CodecError,
    format_gib,
    format_number,
    format_propstring,
    normalise_tags,
    parse_propstring,
    to_flag,
)

Params = dict[str, str | int]
_Item = TypeVar("_Item", MountPoint, NetworkInterface)
# Property-string keys the model decides (set or left out); PVE's other keys are kept.
_MP_KEYS = frozenset({"volume", "mp", "backup", "ro"})
_NIC_KEYS = frozenset(
    ["name", "bridge", "firewall", "gw", "gw6", "hwaddr", "ip", "ip6", "mtu", "rate", "tag", "type"]
)


def encode_create(spec: ContainerSpec, node: str) -> Params:
    """POST /nodes/{node}/lxc parameters; `node` goes in the path, not the body.

    The tags carry OWNER_TAG and CREATE_PENDING_TAG so a crash mid-create leaves
    a CT we recognise and adopt instead of duplicating.
    """
    if not node:
        raise CodecError(f"{spec.address}: no node to create on")
    s = spec.settings
    params: Params = {"vmid": spec.vmid, "ostemplate": spec.template, "start": 0}
    params.update(_present(_scalar_keys(s, pending=True)))
    params["unprivileged"] = to_flag(s.unprivileged)
    if s.rootfs is not None:
        params["rootfs"] = f"{s.rootfs.storage}:{format_gib(s.rootfs.size_bytes)}"
    for mount in s.mountpoints:
        params[f"mp{mount.id}"] = _mountpoint(mount, _source(mount))
    for nic in s.network:
        params[f"net{nic.index}"] = _network(nic)
    if spec.ssh_public_keys:
        params["ssh-public-keys"] = "\n".join(spec.ssh_public_keys)
    return params


def encode_update(
    spec: ContainerSpec,
    observed: ObservedContainer,
    paths: Iterable[str],
    current_config: Mapping[str, object] | None = None,
) -> tuple[Params, list[str]]:
    """PUT /config parameters and `delete` keys for the changed field paths only.

    Only the `mpN` / `netN` the paths name are touched, and an existing item is
    re-sent as PVE has it with just the named sub-keys taken from the spec: a
    refused or ignored mount point or NIC is never rewritten or deleted.
    `current_config` is the raw GET /config object: existing mount points are
    re-sent with their allocated volume id (a `storage:size` would allocate a
    new disk). The digest is added by the writer.
    """
    paths = list(paths)
    keys = keys_for_paths(paths)
    mounts, nics = item_scopes(paths)
    want, have = _scalar_keys(spec.settings), _scalar_keys(observed.settings)
    params: Params = {}
    delete: list[str] = []
    for key in sorted(keys & want.keys()):
        if want[key] == have[key]:
            continue
        value = want[key]
        if value is None:
            delete.append(key)
        else:
            params[key] = value
    raw = current_config or {}
    _update_network(spec.settings.network, observed.settings.network, nics, raw, params, delete)
    _update_mounts(
        spec.settings.mountpoints, observed.settings.mountpoints, mounts, raw, params, delete
    )
    return params, sorted(delete)


def encode_tags(tags: Iterable[str], *, pending: bool = False) -> str:
    """`a;b;c` with OWNER_TAG always and CREATE_PENDING_TAG while a create is in flight."""
    extra = (OWNER_TAG, CREATE_PENDING_TAG) if pending else (OWNER_TAG,)
    return ";".join(normalise_tags((*tags, *extra)))


def _scalar_keys(s: ContainerSettings, pending: bool = False) -> dict[str, str | int | None]:
    """The single-valued PVE keys a PUT may set; None means "absent" (delete)."""
    return {
        "hostname": s.hostname,
        "description": s.description,
        "memory": s.memory_mib,
        "swap": s.swap_mib,
        "cores": s.cores,
        "cpulimit": None if s.cpulimit is None else format_number(s.cpulimit),
        "nameserver": " ".join(s.nameservers) or None,
        "searchdomain": s.searchdomain,
        "features": _features(s.features) or None,
        "onboot": to_flag(s.on_boot),
        "protection": to_flag(s.protection),
        "startup": _startup(s.startup),
        "tags": encode_tags(s.tags, pending=pending),
        "ostype": s.ostype,
    }


def _present(keys: Mapping[str, str | int | None]) -> Params:
    return {key: value for key, value in keys.items() if value is not None}


def _features(f: Features) -> str:
    flags = [
        ("fuse", f.fuse),
        ("keyctl", f.keyctl),
        ("mknod", f.mknod),
        ("mount", ";".join(f.mount) or None),
        ("nesting", f.nesting),
    ]
    return format_propstring((key, value) for key, value in flags if value)


def _startup(startup: Startup | None) -> str | None:
    if startup is None:
        return None
    text = format_propstring(
        [("order", startup.order), ("up", startup.up_seconds), ("down", startup.down_seconds)]
    )
    return text or None


def _network(nic: NetworkInterface) -> str:
    return format_propstring(
        [
            ("name", nic.name),
            ("bridge", nic.bridge or None),
            ("firewall", nic.firewall),
            ("gw", nic.gateway),
            ("gw6", nic.gateway6),
            ("hwaddr", nic.hwaddr),
            ("ip", nic.ip),
            ("ip6", nic.ip6),
            ("mtu", nic.mtu),
            ("rate", nic.rate),
            ("tag", nic.vlan),
            ("type", "veth"),
        ]
    )


def _mountpoint(mount: MountPoint, source: str) -> str:
    return format_propstring(
        [
            ("volume", source),
            ("mp", mount.path),
            ("backup", mount.backup),
            ("ro", mount.read_only or None),
        ],
        default_key="volume",
    )


def _new_volume(volume: Volume | None) -> str:
    if volume is None:
        raise CodecError("a mount point needs a volume or a host path")
    return f"{volume.storage}:{format_gib(volume.size_bytes)}"


def _source(mount: MountPoint) -> str:
    if mount.host_path is not None:
        return mount.host_path
    return _new_volume(mount.volume)


def _merged(
    old: _Item, new: _Item, named: frozenset[str] | None, attrs: Mapping[str, str]
) -> _Item:
    """`old` (as PVE has it) with the attributes of the named sub-keys taken from `new`."""
    if named is None:
        return new
    return replace(old, **{attrs[sub]: getattr(new, attrs[sub]) for sub in named})


def _update_network(
    want: Sequence[NetworkInterface],
    have: Sequence[NetworkInterface],
    scope: Scope,
    raw: Mapping[str, object],
    params: Params,
    delete: list[str],
) -> None:
    desired = {nic.index: nic for nic in want}
    current = {nic.index: nic for nic in have}
    for index, named in sorted(scope.items()):
        key = f"net{index}"
        nic, old = desired.get(index), current.get(index)
        if nic is None:
            if old is not None:
                delete.append(key)
            continue
        if old is not None:
            nic = _merged(old, nic, named, NIC_ATTRS)
        if nic.hwaddr is None and old is not None:
            # Without hwaddr PVE would generate a new MAC: keep the one it made.
            nic = replace(nic, hwaddr=old.hwaddr)
        if nic != old:
            params[key] = _over_current(_network(nic), raw.get(key), _NIC_KEYS, None)


def _update_mounts(
    want: Sequence[MountPoint],
    have: Sequence[MountPoint],
    scope: Scope,
    raw: Mapping[str, object],
    params: Params,
    delete: list[str],
) -> None:
    desired = {mount.id: mount for mount in want}
    current = {mount.id: mount for mount in have}
    for index, named in sorted(scope.items()):
        key = f"mp{index}"
        mount, old = desired.get(index), current.get(index)
        if mount is None:
            if old is not None:
                delete.append(key)  # PVE detaches the volume as unusedN; it is not destroyed
            continue
        if old is None:
            params[key] = _mountpoint(mount, _source(mount))
            continue
        mount = _merged(old, mount, named, MOUNT_ATTRS)
        if _same_mount(mount, old):
            continue
        text = _mountpoint(mount, _existing_source(key, mount, old, raw))
        params[key] = _over_current(text, raw.get(key), _MP_KEYS, "volume")


def _over_current(
    text: str, current: object, managed: frozenset[str], default_key: str | None
) -> str:
    """Our encoding of an existing item plus the keys PVE holds that the model does not
    manage (`size`, `acl`, `mountoptions`, `trunks`...): a PUT must not drop them."""
    if current is None:
        return text
    ours = parse_propstring(text, default_key)
    theirs = parse_propstring(str(current), default_key)
    kept = [(k, v) for k, v in theirs.items() if k not in managed and k not in ours]
    return format_propstring([*ours.items(), *kept], default_key)


def _same_mount(mount: MountPoint, old: MountPoint) -> bool:
    # Sizes grow through /resize, never through PUT config.
    if (
        mount.volume is not None
        and old.volume is not None
        and mount.volume.storage == old.volume.storage
    ):
        mount = replace(mount, volume=old.volume)
    return mount == old


def _existing_source(
    key: str, mount: MountPoint, old: MountPoint, raw: Mapping[str, object]
) -> str:
    if mount.host_path is not None:
        return mount.host_path
    if mount.volume is None or old.volume is None or mount.volume.storage != old.volume.storage:
        raise CodecError(
            f"{key}: moving a mount point to another storage is not done by PUT config"
        )
    value = raw.get(key)
    if value is None:
        raise CodecError(f"{key}: the current config is needed to keep its volume")
    return str(parse_propstring(str(value), default_key="volume")["volume"])
