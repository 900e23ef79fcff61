"""LXC option rules shared by create and PUT: root@pam checks, canonical values, allocation."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from .context import Ctx, Params
from .errors import fail, perm_error
from .formats import split_list
from .validate import parse_propstr, render_propstr
from .volumes import alloc_request, allocate, format_size, mount_type

_MOUNT_KEY = re.compile(r"^(rootfs|mp\d+)$")
_NET_KEY = re.compile(r"^net\d+$")
_DEV_KEY = re.compile(r"^dev\d+$")
PROPSTR_KEYS = {
    "rootfs": "rootfs",
    "mp": "mp",
    "net": "net",
    "dev": "dev",
    "unused": "unused",
    "features": "features",
}


def family(key: str) -> str | None:
    """Property-string format of a config key (`net3` -> `net`), or None."""
    base = key.rstrip("0123456789")
    return PROPSTR_KEYS.get(base)


def check_root_only(
    ctx: Ctx, params: Params, unprivileged: bool, old_features: dict[str, Any], deleted: list[str]
) -> None:
    """Options only root@pam (a ticket login, not a token) may set, as 403 like PVE."""
    if ctx.identity.is_root:
        return
    for key, value in sorted(params.items()):
        if _MOUNT_KEY.match(key):
            fmt = "rootfs" if key == "rootfs" else "mp"
            kind = mount_type(str(parse_propstr(fmt, str(value), ctx.version)["volume"]))
            if kind != "volume":
                raise perm_error(f"mount point type {kind} is only allowed for root@pam")
        elif _DEV_KEY.match(key):
            raise perm_error("configuring device passthrough is only allowed for root@pam")
        elif key == "hookscript":
            raise perm_error("changing the hookscript is only allowed for root@pam")
    if "features" in params or "features" in deleted:
        new = (
            parse_propstr("features", str(params["features"]), ctx.version)
            if "features" in params
            else {}
        )
        changed = {k for k in set(new) | set(old_features) if new.get(k) != old_features.get(k)}
        if changed and not unprivileged:
            raise perm_error(
                "changing feature flags for privileged container is only allowed for root@pam"
            )
        if changed - {"nesting"}:
            raise perm_error("changing feature flags (except nesting) is only allowed for root@pam")


def normalize_tags(value: str) -> str:
    """Accept `,` `;` or space separated tags; store them `;`-joined in the given order."""
    seen: list[str] = []
    for tag in split_list(value):
        if tag not in seen:
            seen.append(tag)
    return ";".join(seen)


def hwaddr(vmid: int, key: str, salt: int) -> str:
    """A stable unicast MAC in Proxmox's BC:24:11 range (I/G bit clear)."""
    raw = hashlib.sha256(f"{vmid}/{key}/{salt}".encode()).digest()
    return "BC:24:11:" + ":".join(f"{x:02X}" for x in raw[:3])


def canonical_net(ctx: Ctx, vmid: int, key: str, value: str, salt: int) -> str:
    """Re-print a netN like PVE: generated hwaddr when absent, type=veth."""
    props = parse_propstr("net", value, ctx.version)
    props.setdefault("hwaddr", hwaddr(vmid, key, salt))
    props.setdefault("type", "veth")
    return render_propstr("net", props, ctx.version)


def check_bridge(ctx: Ctx, node: str, key: str, value: str) -> str | None:
    """`bridge 'x' does not exist` when the node has no such bridge."""
    props = parse_propstr("net", value, ctx.version)
    bridge = props.get("bridge")
    known = ctx.cluster.nodes[node].bridges
    if bridge and bridge not in known:
        return f"bridge '{bridge}' does not exist"
    return None


def canonical_mount(
    ctx: Ctx, vmid: int, node: str, key: str, value: str, default_storage: str | None = None
) -> str:
    """Re-print rootfs/mpN; `STORAGE:SIZE` (or a bare size on create) allocates a volume."""
    fmt = "rootfs" if key == "rootfs" else "mp"
    props = parse_propstr(fmt, value, ctx.version)
    volume = str(props["volume"])
    if default_storage and re.fullmatch(r"\d+(\.\d+)?", volume):
        volume = f"{default_storage}:{volume}"
    req = alloc_request(volume)
    if req:
        vol = allocate(ctx.cluster, req[0], vmid, req[1], node)
        props["volume"] = vol.volid
        props["size"] = format_size(vol.size)
    return render_propstr(fmt, props, ctx.version)


def canonical_value(ctx: Ctx, key: str, value: Any) -> Any:
    """Canonical text for property strings and tags that need no allocation."""
    if key == "tags":
        return normalize_tags(str(value))
    fam = family(key)
    if fam in ("features", "dev", "unused"):
        return render_propstr(fam, parse_propstr(fam, str(value), ctx.version), ctx.version)
    return value


def is_mount_key(key: str) -> bool:
    """rootfs or mpN."""
    return bool(_MOUNT_KEY.match(key))


def is_net_key(key: str) -> bool:
    """netN."""
    return bool(_NET_KEY.match(key))


def detect_ostype(template: str) -> str:
    """PVE reads /etc/os-release; we go by the template's file name."""
    name = template.rsplit("/", 1)[-1].lower()
    for ostype in (
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
    ):
        if name.startswith(ostype):
            return ostype
    if name.startswith(("rockylinux", "almalinux")):
        return "centos"
    raise fail(f"unable to detect OS distribution from template '{template}'")


def detect_arch(template: str) -> str:
    """Architecture from the template name (`_arm64.` etc.), default amd64."""
    for arch in ("arm64", "armhf", "i386", "riscv64", "riscv32"):
        if f"_{arch}." in template:
            return arch
    return "amd64"
