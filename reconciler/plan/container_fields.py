"""The one registry of container fields: spec path, model attribute, PVE key, decode, encode,
live or restart; pure. Normalisation, flattening, classification, encoding and decoding
are all derived from `FIELDS` (and `NIC_FIELDS` / `MOUNT_FIELDS` for list items).

Adding a field = one entry here (plus the model attribute and the schema property) and its
tests; tests/unit/plan/test_container_fields.py checks the entries against the JSON Schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from reconciler.model.containers import (
    CREATE_PENDING_TAG,
    OWNER_TAG,
    ContainerSettings,
    Features,
    MountPoint,
    NetworkInterface,
    Startup,
    Volume,
)
from reconciler.model.units import format_bytes
from reconciler.plan.change import JSONValue
from reconciler.plan.pve_text import (
    CodecError,
    format_gib,
    format_number,
    format_propstring,
    get_str,
    normalise_tags,
    parse_bool,
    parse_disk_size,
    parse_float,
    parse_int,
    parse_opt_bool,
    parse_propstring,
    split_list,
    to_flag,
)

Flat = dict[str, JSONValue]
PveValue = str | int
Config = Mapping[str, object]


@dataclass(frozen=True)
class ContainerField:
    """One ContainerSettings attribute and everything the code base knows about it.

    `paths` are its spec field paths (`[*]` for any list index); `live` is True when
    PVE applies a change to a running CT at once (else it stays pending until a
    restart); `encode` gives the PVE keys it writes (None: absent); `decode` reads
    it back from a GET /config object (pending values applied)."""

    attr: str
    pve_key: str
    paths: tuple[str, ...]
    live: bool
    flatten: Callable[[Any], Flat]
    encode: Callable[[Any], dict[str, PveValue | None]]
    decode: Callable[[Config], Any]
    normalize: Callable[[Any], Any] = lambda value: value


@dataclass(frozen=True)
class ItemField:
    """One sub-key of a list item (`network[N].gateway` -> `gw` in netN)."""

    path: str
    attr: str
    pve: str
    live: bool


NIC_FIELDS = (
    ItemField("name", "name", "name", True),
    ItemField("bridge", "bridge", "bridge", True),
    ItemField("ip", "ip", "ip", True),
    ItemField("gateway", "gateway", "gw", True),
    ItemField("ip6", "ip6", "ip6", True),
    ItemField("gateway6", "gateway6", "gw6", True),
    ItemField("firewall", "firewall", "firewall", True),
    ItemField("vlan", "vlan", "tag", True),
    ItemField("mtu", "mtu", "mtu", True),
    ItemField("rate", "rate", "rate", True),
    ItemField("hwaddr", "hwaddr", "hwaddr", True),
)
# storage/size/hostPath live in the `volume` part (size via /resize, storage never changes).
MOUNT_FIELDS = (
    ItemField("path", "path", "mp", False),
    ItemField("storage", "volume", "volume", False),
    ItemField("size", "volume", "size", False),
    ItemField("hostPath", "host_path", "volume", False),
    ItemField("backup", "backup", "backup", True),
    ItemField("readOnly", "read_only", "ro", False),
)
# Property-string keys the model decides; PVE's others (size, acl, trunks...) are kept.
NIC_KEYS = frozenset({f.pve for f in NIC_FIELDS} | {"type"})
MOUNT_KEYS = frozenset({"volume", "mp", "backup", "ro"})


# -- normalisation -------------------------------------------------------------------------


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()  # PVE appends a newline to descriptions
    return stripped or None


def _lower(value: str | None) -> str | None:
    text = _text(value)
    return text.lower() if text is not None else None


def _norm_mount(mp: MountPoint) -> MountPoint:
    # PVE leaves volume mount points out of backups unless backup=1; bind mounts have none.
    backup = bool(mp.backup) if mp.volume is not None else None
    return replace(mp, path=mp.path.rstrip("/") or "/", backup=backup)


def _norm_nic(nic: NetworkInterface) -> NetworkInterface:
    return replace(
        nic,
        ip=_lower(nic.ip),
        gateway=_lower(nic.gateway),
        ip6=_lower(nic.ip6),
        gateway6=_lower(nic.gateway6),
        hwaddr=nic.hwaddr.upper() if nic.hwaddr else None,
        rate=float(nic.rate) if nic.rate else None,
    )


def _norm_startup(startup: Startup | None) -> Startup | None:
    return None if startup is None or startup == Startup() else startup


# -- encoding (model -> PVE values) --------------------------------------------------------


def _one(key: str, value: PveValue | None) -> dict[str, PveValue | None]:
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


def _encode_rootfs(volume: Volume | None) -> dict[str, PveValue | None]:
    if volume is None:
        return {"rootfs": None}
    return {"rootfs": f"{volume.storage}:{format_gib(volume.size_bytes)}"}


def _flag(key: str) -> Callable[[bool], dict[str, PveValue | None]]:
    return lambda value: {key: to_flag(value)}


# -- decoding (PVE config -> model) --------------------------------------------------------

_NET_KEY = re.compile(r"^net(\d+)$")
_MP_KEY = re.compile(r"^mp(\d+)$")


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


def _decode_rootfs(config: Config) -> Volume | None:
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


def _decode_features(config: Config) -> Features:
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


def _decode_startup(config: Config) -> Startup | None:
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


def _decode_description(config: Config) -> str | None:
    # PVE keeps the description as comment lines and returns it with a trailing newline.
    value = config.get("description")
    if value is None:
        return None
    return str(value).rstrip("\n") or None


def _numbered(config: Config, pattern: re.Pattern[str], parse: Callable[[int, str], Any]) -> Any:
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


def _opt_key(key: str, parse: Callable[[object], Any]) -> Callable[[Config], Any]:
    return lambda config: _opt(config, key, parse)


# -- flattening (model -> spec field paths) ------------------------------------------------


def _size_text(volume: Volume | None) -> str | None:
    return format_bytes(volume.size_bytes) if volume is not None else None


def _seconds(value: int | None) -> str | None:
    return f"{value}s" if value is not None else None


def _flat_rootfs(volume: Volume | None) -> Flat:
    if volume is None:
        return {}
    return {"rootfs.storage": volume.storage, "rootfs.size": _size_text(volume)}


def _flat_mounts(mounts: tuple[MountPoint, ...]) -> Flat:
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


def _flat_nics(nics: tuple[NetworkInterface, ...]) -> Flat:
    flat: Flat = {}
    for nic in nics:
        for f in NIC_FIELDS:
            flat[f"network[{nic.index}].{f.path}"] = getattr(nic, f.attr)
    return flat


def _flat_features(f: Features) -> Flat:
    return {
        "features.nesting": f.nesting,
        "features.keyctl": f.keyctl,
        "features.fuse": f.fuse,
        "features.mknod": f.mknod,
        "features.mount": list(f.mount),
    }


def _flat_startup(startup: Startup | None) -> Flat:
    if startup is None:
        return {}
    return {
        "startup.order": startup.order,
        "startup.upDelay": _seconds(startup.up_seconds),
        "startup.downDelay": _seconds(startup.down_seconds),
    }


def _as(path: str) -> Callable[[Any], Flat]:
    return lambda value: {path: value}


def _mp_id(mp: MountPoint) -> int:
    return mp.id


def _nic_index(nic: NetworkInterface) -> int:
    return nic.index


# -- the registry ----------------------------------------------------------------------------

FIELDS: tuple[ContainerField, ...] = (
    ContainerField(
        "hostname",
        "hostname",
        ("hostname",),
        True,
        _as("hostname"),
        lambda v: _one("hostname", v),
        lambda c: get_str(c, "hostname") or "",
        lambda v: v.strip().lower(),
    ),
    ContainerField(
        "description",
        "description",
        ("description",),
        True,
        _as("description"),
        lambda v: _one("description", v),
        _decode_description,
        _text,
    ),
    ContainerField(
        "unprivileged",
        "unprivileged",
        ("unprivileged",),
        False,
        _as("unprivileged"),
        _flag("unprivileged"),
        lambda c: parse_bool(c.get("unprivileged")),
    ),
    ContainerField(
        "ostype",
        "ostype",
        ("ostype",),
        False,
        _as("ostype"),
        lambda v: _one("ostype", v),
        lambda c: get_str(c, "ostype"),
        _lower,
    ),
    ContainerField(
        "cores",
        "cores",
        ("cores",),
        True,
        _as("cores"),
        lambda v: _one("cores", v),
        _opt_key("cores", parse_int),
    ),
    ContainerField(
        "cpulimit",
        "cpulimit",
        ("cpuLimit",),
        True,
        _as("cpuLimit"),
        lambda v: _one("cpulimit", None if v is None else format_number(v)),
        _opt_key("cpulimit", parse_float),
        lambda v: float(v) if v else None,  # 0 means unlimited
    ),
    ContainerField(
        "memory_mib",
        "memory",
        ("memory",),
        True,
        _as("memory"),
        lambda v: _one("memory", v),
        lambda c: parse_int(c.get("memory", 512)),
    ),
    ContainerField(
        "swap_mib",
        "swap",
        ("swap",),
        True,
        _as("swap"),
        lambda v: _one("swap", v),
        lambda c: parse_int(c.get("swap", 512)),
    ),
    ContainerField(
        "rootfs",
        "rootfs",
        ("rootfs.storage", "rootfs.size"),
        False,
        _flat_rootfs,
        _encode_rootfs,
        _decode_rootfs,
    ),
    ContainerField(
        "mountpoints",
        "mp",
        tuple(f"mountpoints[*].{f.path}" for f in MOUNT_FIELDS),
        False,
        _flat_mounts,
        lambda mounts: {f"mp{m.id}": encode_mount(m) for m in mounts},
        lambda c: _numbered(c, _MP_KEY, decode_mount),
        lambda mounts: tuple(sorted((_norm_mount(m) for m in mounts), key=_mp_id)),
    ),
    ContainerField(
        "network",
        "net",
        tuple(f"network[*].{f.path}" for f in NIC_FIELDS),
        True,
        _flat_nics,
        lambda nics: {f"net{n.index}": encode_nic(n) for n in nics},
        lambda c: _numbered(c, _NET_KEY, decode_nic),
        lambda nics: tuple(sorted((_norm_nic(n) for n in nics), key=_nic_index)),
    ),
    ContainerField(
        "searchdomain",
        "searchdomain",
        ("dns.domain",),
        False,
        _as("dns.domain"),
        lambda v: _one("searchdomain", v),
        lambda c: get_str(c, "searchdomain"),
        _lower,
    ),
    ContainerField(
        "nameservers",
        "nameserver",
        ("dns.servers",),
        False,
        lambda v: {"dns.servers": list(v)},
        lambda v: _one("nameserver", " ".join(v) or None),
        lambda c: split_list(c.get("nameserver")),
        lambda v: tuple(s.strip() for s in v if s.strip()),
    ),
    ContainerField(
        "features",
        "features",
        tuple(f"features.{k}" for k in ("nesting", "keyctl", "fuse", "mknod", "mount")),
        False,
        _flat_features,
        lambda v: _one("features", encode_features(v)),
        _decode_features,
        lambda f: replace(f, mount=tuple(sorted(set(f.mount)))),
    ),
    ContainerField(
        "on_boot",
        "onboot",
        ("onBoot",),
        True,
        _as("onBoot"),
        _flag("onboot"),
        lambda c: parse_bool(c.get("onboot")),
    ),
    ContainerField(
        "startup",
        "startup",
        ("startup.order", "startup.upDelay", "startup.downDelay"),
        True,
        _flat_startup,
        lambda v: _one("startup", encode_startup(v)),
        _decode_startup,
        _norm_startup,
    ),
    ContainerField(
        "tags",
        "tags",
        ("tags",),
        True,
        lambda v: {"tags": list(v)},
        lambda v: _one("tags", encode_tags(v)),
        lambda c: normalise_tags(split_list(c.get("tags"))),
    ),
    ContainerField(
        "protection",
        "protection",
        ("protection",),
        True,
        _as("protection"),
        _flag("protection"),
        lambda c: parse_bool(c.get("protection")),
    ),
)
BY_ATTR: Mapping[str, ContainerField] = {f.attr: f for f in FIELDS}
_INDEX = re.compile(r"\[\d+\]")
_BY_PATH: Mapping[str, tuple[ContainerField, ItemField | None]] = {
    **{p: (f, None) for f in FIELDS if f.attr not in ("mountpoints", "network") for p in f.paths},
    **{f"mountpoints[*].{i.path}": (BY_ATTR["mountpoints"], i) for i in MOUNT_FIELDS},
    **{f"network[*].{i.path}": (BY_ATTR["network"], i) for i in NIC_FIELDS},
}


def field_for(path: str) -> tuple[ContainerField, ItemField | None] | None:
    """The registry entry (and list-item sub-key) of a spec field path; None if unknown."""
    return _BY_PATH.get(_INDEX.sub("[*]", path))


def is_live(path: str) -> bool:
    """True when PVE applies a change of `path` to a running CT at once."""
    found = field_for(path)
    if found is None:
        return False
    entry, item = found
    return item.live if item is not None else entry.live


def normalize(settings: ContainerSettings) -> ContainerSettings:
    """Each attribute through its entry's normaliser (tags: see diff.normalize)."""
    return replace(settings, **{f.attr: f.normalize(getattr(settings, f.attr)) for f in FIELDS})


def flatten(settings: ContainerSettings) -> Flat:
    """Settings -> {spec field path: value in spec units}, in registry order."""
    flat: Flat = {}
    for f in FIELDS:
        flat.update(f.flatten(getattr(settings, f.attr)))
    return flat


def encode(settings: ContainerSettings) -> dict[str, PveValue | None]:
    """Every PVE key of `settings` (None: absent), in registry order."""
    keys: dict[str, PveValue | None] = {}
    for f in FIELDS:
        keys.update(f.encode(getattr(settings, f.attr)))
    return keys


def decode(config: Config, vmid: int | None = None) -> ContainerSettings:
    """A GET /config object (pending values applied) -> ContainerSettings; unknown keys ignored."""
    values = {f.attr: f.decode(config) for f in FIELDS}
    if not values["hostname"]:
        values["hostname"] = f"CT{vmid}" if vmid is not None else ""
    return ContainerSettings(**values)
