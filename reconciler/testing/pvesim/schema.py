"""Our own compact parameter table for the LXC options (PVE 8.3, plus 9.x additions); pure data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class P:
    """One parameter (or property-string sub-key): type and constraints as PVE checks them."""

    kind: str  # string | integer | number | boolean
    optional: bool = True
    enum: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    fmt: str | None = None  # a registered format (formats.FORMATS)
    sub: str | None = None  # a property-string format (PROPSTR key)
    default_key: bool = False
    requires: str | None = None


def s(
    fmt: str | None = None,
    *,
    opt: bool = True,
    enum: tuple[str, ...] = (),
    maxlen: int | None = None,
    minlen: int | None = None,
    pattern: str | None = None,
    sub: str | None = None,
    dk: bool = False,
    requires: str | None = None,
) -> P:
    """A string parameter."""
    return P("string", opt, enum, None, None, minlen, maxlen, pattern, fmt, sub, dk, requires)


def i(lo: float | None = None, hi: float | None = None, *, opt: bool = True) -> P:
    """An integer parameter."""
    return P("integer", opt, minimum=lo, maximum=hi)


def n(lo: float | None = None, hi: float | None = None) -> P:
    """A number parameter (PVE keeps the given string in the config)."""
    return P("number", minimum=lo, maximum=hi)


def b(*, requires: str | None = None) -> P:
    """An optional boolean parameter (strict 1/0 at top level)."""
    return P("boolean", requires=requires)


NODE = s("pve-node", opt=False)
VMID = P("integer", False, minimum=100, maximum=999999999, fmt="pve-vmid")
VMID_OPT = P("integer", True, minimum=100, maximum=999999999, fmt="pve-vmid")
DIGEST = s(maxlen=40)
SNAPNAME = s("pve-configid", opt=False, maxlen=40)

# numbered option families: key prefix -> count (pve-container LXC/Config.pm limits)
NUMBERED: Mapping[str, int] = {"net": 32, "mp": 256, "unused": 256, "dev": 256}

_MOUNTOPT = r"(discard|lazytime|noatime|nodev|noexec|nosuid)"
_MOUNTOPTS = rf"{_MOUNTOPT}(;{_MOUNTOPT})*"
_MOUNT_COMMON: Mapping[str, P] = {
    "volume": s("pve-lxc-mp-string", opt=False, dk=True),
    "acl": b(),
    "mountoptions": s(pattern=_MOUNTOPTS),
    "quota": b(),
    "replicate": b(),
    "ro": b(),
    "shared": b(),
    "size": s("disk-size"),
}
_IDMAP = r"(?:passthrough|[ug]:[0-9]+:[0-9]+:[1-9][0-9]*(?:;[ug]:[0-9]+:[0-9]+:[1-9][0-9]*)*)"

PROPSTR: Mapping[str, Mapping[str, P]] = {
    "net": {
        "name": s(opt=False, pattern=r"[-_.\w\d]+"),
        "bridge": s(pattern=r"[-_.\w\d]+"),
        "firewall": b(),
        "gw": s("ipv4"),
        "gw6": s("ipv6"),
        "hwaddr": s("mac-addr"),
        "ip": s("pve-ipv4-config"),
        "ip6": s("pve-ipv6-config"),
        "link_down": b(),
        "mtu": i(64, 65535),
        "rate": n(),
        "tag": i(1, 4094),
        "trunks": s(pattern=r"\d+(?:;\d+)*"),
        "type": s(enum=("veth",)),
    },
    "rootfs": dict(_MOUNT_COMMON),
    "mp": {**_MOUNT_COMMON, "mp": s("pve-lxc-mp-string", opt=False), "backup": b()},
    "features": {
        "force_rw_sys": b(),
        "fuse": b(),
        "keyctl": b(),
        "mknod": b(),
        "mount": s(pattern=r"[a-zA-Z0-9_; ]+"),
        "nesting": b(),
    },
    "dev": {
        "path": s("pve-lxc-dev-string", dk=True),
        "deny-write": b(),
        "gid": i(0),
        "mode": s(pattern=r"0[0-7]{3}"),
        "uid": i(0),
    },
    "unused": {"volume": s("pve-volume-id", opt=False, dk=True)},
}

PROPSTR_9: Mapping[str, Mapping[str, P]] = {
    "net": {"host-managed": b()},
    "rootfs": {"idmap": s(pattern=_IDMAP)},
    "mp": {"idmap": s(pattern=_IDMAP), "keepattrs": b()},
}

OSTYPES = (
    "debian",
    "devuan",
    "ubuntu",
    "centos",
    "fedora",
    "opensuse",
    "archlinux",
    "alpine",
    "gentoo",
    "nixos",
    "unmanaged",
)
ARCHES = ("amd64", "i386", "arm64", "armhf", "riscv32", "riscv64")
LOCKS = (
    "backup",
    "create",
    "destroyed",
    "disk",
    "fstrim",
    "migrate",
    "mounted",
    "rollback",
    "snapshot",
    "snapshot-delete",
)

# options valid both on create and in PUT /config (and thus the config keys)
LXC_OPTIONS: Mapping[str, P] = {
    "arch": s(enum=ARCHES),
    "cmode": s(enum=("shell", "console", "tty")),
    "console": b(),
    "cores": i(1, 8192),
    "cpulimit": n(0, 8192),
    "cpuunits": i(0, 500000),
    "debug": b(),
    "description": s(maxlen=8192),
    "dev[n]": s(sub="dev"),
    "features": s(sub="features"),
    "hookscript": s("pve-volume-id"),
    "hostname": s("dns-name", maxlen=255),
    "lock": s(enum=LOCKS),
    "memory": i(16),
    "mp[n]": s(sub="mp"),
    "nameserver": s("lxc-ip-with-ll-iface-list"),
    "net[n]": s(sub="net"),
    "onboot": b(),
    "ostype": s(enum=OSTYPES),
    "protection": b(),
    "rootfs": s(sub="rootfs"),
    "searchdomain": s("dns-name-list"),
    "startup": s("pve-startup-order"),
    "swap": i(0),
    "tags": s("pve-tag-list"),
    "template": b(),
    "timezone": s("pve-ct-timezone"),
    "tty": i(0, 6),
    "unprivileged": b(),
    "unused[n]": s(sub="unused"),
}

CREATE_ONLY: Mapping[str, P] = {
    "node": NODE,
    "vmid": VMID,
    "ostemplate": s(opt=False, maxlen=255),
    "bwlimit": n(0),
    "force": b(),
    "ignore-unpack-errors": b(),
    "password": s(minlen=5),
    "pool": s("pve-poolid"),
    "restore": b(),
    "ssh-public-keys": s(),
    "start": b(),
    "storage": s("pve-storage-id"),
    "unique": b(requires="restore"),
}

UPDATE_ONLY: Mapping[str, P] = {
    "node": NODE,
    "vmid": VMID,
    "delete": s("pve-configid-list"),
    "revert": s("pve-configid-list"),
    "digest": DIGEST,
}

_ENV = r"(?:\w+=[^\x00-\x08\x0a-\x1F\x7F]*)(?:\0\w+=[^\x00-\x08\x0a-\x1F\x7F]*)*"
OPTIONS_9: Mapping[str, P] = {
    "entrypoint": s(pattern=r"[^\x00-\x08\x0a-\x1F\x7F]+"),
    "env": s(pattern=_ENV),
}
CREATE_ONLY_9: Mapping[str, P] = {"ha-managed": b()}


def is_v9(version: str) -> bool:
    """True when the simulator pretends to be PVE 9.x."""
    return version.startswith("9")


def create_params(version: str) -> dict[str, P]:
    """Parameters of POST /nodes/{node}/lxc for a PVE version."""
    table = {**LXC_OPTIONS, **CREATE_ONLY}
    if is_v9(version):
        table.update(OPTIONS_9)
        table.update(CREATE_ONLY_9)
    return table


def update_params(version: str) -> dict[str, P]:
    """Parameters of PUT /nodes/{node}/lxc/{vmid}/config for a PVE version."""
    table = {**LXC_OPTIONS, **UPDATE_ONLY}
    if is_v9(version):
        table.update(OPTIONS_9)
    return table


def config_keys(version: str) -> set[str]:
    """Option names that may appear in a CT config (numbered families as `net[n]`)."""
    keys = set(LXC_OPTIONS)
    if is_v9(version):
        keys.update(OPTIONS_9)
    return keys


def propstr_format(name: str, version: str) -> dict[str, P]:
    """Sub-keys of a property-string format, with the 9.x additions when asked."""
    fmt = dict(PROPSTR[name])
    if is_v9(version):
        fmt.update(PROPSTR_9.get(name, {}))
    return fmt


def schema_key(key: str) -> str:
    """Map `net3` to its table key `net[n]` when within the family's range; else `key`."""
    for prefix, count in NUMBERED.items():
        rest = key[len(prefix) :]
        if key.startswith(prefix) and rest.isdigit() and str(int(rest)) == rest:
            return f"{prefix}[n]" if int(rest) < count else key
    return key
