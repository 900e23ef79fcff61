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

from reconciler.model.containers import ContainerSettings
from reconciler.plan import container_decode as dec
from reconciler.plan import container_encode as enc
from reconciler.plan.container_encode import Flat, PveValue
from reconciler.plan.container_items import MOUNT_FIELDS, NIC_FIELDS, ItemField
from reconciler.plan.pve_text import (
    format_number,
    get_str,
    normalise_tags,
    parse_bool,
    parse_float,
    parse_int,
    split_list,
)

__all__ = [
    "FIELDS",
    "MOUNT_FIELDS",
    "NIC_FIELDS",
    "ContainerField",
    "Flat",
    "ItemField",
    "PveValue",
    "decode",
    "encode",
    "field_for",
    "flatten",
    "is_live",
    "normalize",
]
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


# -- the registry ----------------------------------------------------------------------------

FIELDS: tuple[ContainerField, ...] = (
    ContainerField(
        "hostname",
        "hostname",
        ("hostname",),
        True,
        enc.path_value("hostname"),
        lambda v: enc.one("hostname", v),
        lambda c: get_str(c, "hostname") or "",
        lambda v: v.strip().lower(),
    ),
    ContainerField(
        "description",
        "description",
        ("description",),
        True,
        enc.path_value("description"),
        lambda v: enc.one("description", v),
        dec.decode_description,
        enc.text,
    ),
    ContainerField(
        "unprivileged",
        "unprivileged",
        ("unprivileged",),
        False,
        enc.path_value("unprivileged"),
        enc.flag("unprivileged"),
        lambda c: parse_bool(c.get("unprivileged")),
    ),
    ContainerField(
        "ostype",
        "ostype",
        ("ostype",),
        False,
        enc.path_value("ostype"),
        lambda v: enc.one("ostype", v),
        lambda c: get_str(c, "ostype"),
        enc.lower,
    ),
    ContainerField(
        "cores",
        "cores",
        ("cores",),
        True,
        enc.path_value("cores"),
        lambda v: enc.one("cores", v),
        dec.opt_key("cores", parse_int),
    ),
    ContainerField(
        "cpulimit",
        "cpulimit",
        ("cpuLimit",),
        True,
        enc.path_value("cpuLimit"),
        lambda v: enc.one("cpulimit", None if v is None else format_number(v)),
        dec.opt_key("cpulimit", parse_float),
        lambda v: float(v) if v else None,  # 0 means unlimited
    ),
    ContainerField(
        "memory_mib",
        "memory",
        ("memory",),
        True,
        enc.path_value("memory"),
        lambda v: enc.one("memory", v),
        lambda c: parse_int(c.get("memory", 512)),
    ),
    ContainerField(
        "swap_mib",
        "swap",
        ("swap",),
        True,
        enc.path_value("swap"),
        lambda v: enc.one("swap", v),
        lambda c: parse_int(c.get("swap", 512)),
    ),
    ContainerField(
        "rootfs",
        "rootfs",
        ("rootfs.storage", "rootfs.size"),
        False,
        enc.flat_rootfs,
        enc.encode_rootfs,
        dec.decode_rootfs,
    ),
    ContainerField(
        "mountpoints",
        "mp",
        tuple(f"mountpoints[*].{f.path}" for f in MOUNT_FIELDS),
        False,
        enc.flat_mounts,
        lambda mounts: {f"mp{m.id}": enc.encode_mount(m) for m in mounts},
        lambda c: dec.numbered(c, dec.MP_KEY, dec.decode_mount),
        lambda mounts: tuple(sorted((enc.norm_mount(m) for m in mounts), key=enc.mp_id)),
    ),
    ContainerField(
        "network",
        "net",
        tuple(f"network[*].{f.path}" for f in NIC_FIELDS),
        True,
        enc.flat_nics,
        lambda nics: {f"net{n.index}": enc.encode_nic(n) for n in nics},
        lambda c: dec.numbered(c, dec.NET_KEY, dec.decode_nic),
        lambda nics: tuple(sorted((enc.norm_nic(n) for n in nics), key=enc.nic_index)),
    ),
    ContainerField(
        "searchdomain",
        "searchdomain",
        ("dns.domain",),
        False,
        enc.path_value("dns.domain"),
        lambda v: enc.one("searchdomain", v),
        lambda c: get_str(c, "searchdomain"),
        enc.lower,
    ),
    ContainerField(
        "nameservers",
        "nameserver",
        ("dns.servers",),
        False,
        lambda v: {"dns.servers": list(v)},
        lambda v: enc.one("nameserver", " ".join(v) or None),
        lambda c: split_list(c.get("nameserver")),
        lambda v: tuple(s.strip() for s in v if s.strip()),
    ),
    ContainerField(
        "features",
        "features",
        tuple(f"features.{k}" for k in ("nesting", "keyctl", "fuse", "mknod", "mount")),
        False,
        enc.flat_features,
        lambda v: enc.one("features", enc.encode_features(v)),
        dec.decode_features,
        lambda f: replace(f, mount=tuple(sorted(set(f.mount)))),
    ),
    ContainerField(
        "on_boot",
        "onboot",
        ("onBoot",),
        True,
        enc.path_value("onBoot"),
        enc.flag("onboot"),
        lambda c: parse_bool(c.get("onboot")),
    ),
    ContainerField(
        "startup",
        "startup",
        ("startup.order", "startup.upDelay", "startup.downDelay"),
        True,
        enc.flat_startup,
        lambda v: enc.one("startup", enc.encode_startup(v)),
        dec.decode_startup,
        enc.norm_startup,
    ),
    ContainerField(
        "tags",
        "tags",
        ("tags",),
        True,
        lambda v: {"tags": list(v)},
        lambda v: enc.one("tags", enc.encode_tags(v)),
        lambda c: normalise_tags(split_list(c.get("tags"))),
    ),
    ContainerField(
        "protection",
        "protection",
        ("protection",),
        True,
        enc.path_value("protection"),
        enc.flag("protection"),
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
