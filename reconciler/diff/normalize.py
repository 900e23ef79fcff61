"""Normalise container settings and flatten them to spec field paths; pure, no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from reconciler.model.containers import (
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

Flat = dict[str, JSONValue]

# Template file name prefix -> the ostype PVE detects inside it (PVE configs keep no template).
_OSTYPE_BY_PREFIX = {
    "debian": "debian",
    "devuan": "devuan",
    "ubuntu": "ubuntu",
    "centos": "centos",
    "rockylinux": "centos",
    "almalinux": "centos",
    "fedora": "fedora",
    "opensuse": "opensuse",
    "archlinux": "archlinux",
    "alpine": "alpine",
    "gentoo": "gentoo",
    "nixos": "nixos",
}


def ostype_from_template(template: str) -> str | None:
    """`local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst` -> `debian`; None if unknown."""
    base = template.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    prefix = re.split(r"[-_.]", base, maxsplit=1)[0].lower()
    return _OSTYPE_BY_PREFIX.get(prefix)


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()  # PVE appends a newline to descriptions
    return stripped or None


def _lower(value: str | None) -> str | None:
    text = _text(value)
    return text.lower() if text is not None else None


def normalize_tags(tags: Iterable[str], *, owner: bool) -> tuple[str, ...]:
    cleaned = {t.strip().lower() for t in tags if t.strip()}
    if owner:
        cleaned.add(OWNER_TAG)
    return tuple(sorted(cleaned))


def _mountpoint(mp: MountPoint) -> MountPoint:
    if mp.volume is not None:
        # PVE leaves volume mount points out of backups unless backup=1.
        backup: bool | None = bool(mp.backup)
    else:
        backup = None  # not used for bind mounts
    return replace(mp, path=mp.path.rstrip("/") or "/", backup=backup)


def _nic(nic: NetworkInterface) -> NetworkInterface:
    return replace(
        nic,
        ip=_lower(nic.ip),
        gateway=_lower(nic.gateway),
        ip6=_lower(nic.ip6),
        gateway6=_lower(nic.gateway6),
        hwaddr=nic.hwaddr.upper() if nic.hwaddr else None,
        rate=float(nic.rate) if nic.rate else None,
    )


def _startup(startup: Startup | None) -> Startup | None:
    if startup is None or startup == Startup():
        return None
    return startup


def normalize_settings(settings: ContainerSettings, *, desired: bool) -> ContainerSettings:
    """Bring one side to canonical form so equal meaning compares equal."""
    features = settings.features
    return replace(
        settings,
        hostname=settings.hostname.strip().lower(),
        cpulimit=float(settings.cpulimit) if settings.cpulimit else None,  # 0 means unlimited
        description=_text(settings.description),
        mountpoints=tuple(sorted((_mountpoint(m) for m in settings.mountpoints), key=_mp_id)),
        network=tuple(sorted((_nic(n) for n in settings.network), key=_nic_index)),
        searchdomain=_lower(settings.searchdomain),
        nameservers=tuple(s.strip() for s in settings.nameservers if s.strip()),
        features=replace(features, mount=tuple(sorted(set(features.mount)))),
        startup=_startup(settings.startup),
        tags=normalize_tags(settings.tags, owner=desired),
        ostype=_lower(settings.ostype),
    )


def _mp_id(mp: MountPoint) -> int:
    return mp.id


def _nic_index(nic: NetworkInterface) -> int:
    return nic.index


def _size(volume: Volume | None) -> str | None:
    return format_bytes(volume.size_bytes) if volume is not None else None


def _seconds(value: int | None) -> str | None:
    return f"{value}s" if value is not None else None


def flatten(settings: ContainerSettings) -> Flat:
    """Settings -> {spec field path: value in spec units}, in a stable reading order."""
    flat: Flat = {
        "hostname": settings.hostname,
        "description": settings.description,
        "unprivileged": settings.unprivileged,
        "ostype": settings.ostype,
        "cores": settings.cores,
        "cpuLimit": settings.cpulimit,
        "memory": settings.memory_mib,
        "swap": settings.swap_mib,
    }
    if settings.rootfs is not None:
        flat["rootfs.storage"] = settings.rootfs.storage
        flat["rootfs.size"] = _size(settings.rootfs)
    for mp in settings.mountpoints:
        prefix = f"mountpoints[{mp.id}]"
        flat[f"{prefix}.path"] = mp.path
        flat[f"{prefix}.storage"] = mp.volume.storage if mp.volume else None
        flat[f"{prefix}.size"] = _size(mp.volume)
        flat[f"{prefix}.hostPath"] = mp.host_path
        flat[f"{prefix}.backup"] = mp.backup
        flat[f"{prefix}.readOnly"] = mp.read_only
    for nic in settings.network:
        prefix = f"network[{nic.index}]"
        flat[f"{prefix}.name"] = nic.name
        flat[f"{prefix}.bridge"] = nic.bridge
        flat[f"{prefix}.ip"] = nic.ip
        flat[f"{prefix}.gateway"] = nic.gateway
        flat[f"{prefix}.ip6"] = nic.ip6
        flat[f"{prefix}.gateway6"] = nic.gateway6
        flat[f"{prefix}.firewall"] = nic.firewall
        flat[f"{prefix}.vlan"] = nic.vlan
        flat[f"{prefix}.mtu"] = nic.mtu
        flat[f"{prefix}.rate"] = nic.rate
        flat[f"{prefix}.hwaddr"] = nic.hwaddr
    flat["dns.domain"] = settings.searchdomain
    flat["dns.servers"] = list(settings.nameservers)
    flat.update(_flatten_features(settings.features))
    flat["onBoot"] = settings.on_boot
    if settings.startup is not None:
        flat["startup.order"] = settings.startup.order
        flat["startup.upDelay"] = _seconds(settings.startup.up_seconds)
        flat["startup.downDelay"] = _seconds(settings.startup.down_seconds)
    flat["tags"] = list(settings.tags)
    flat["protection"] = settings.protection
    return flat


def _flatten_features(features: Features) -> Flat:
    return {
        "features.nesting": features.nesting,
        "features.keyctl": features.keyctl,
        "features.fuse": features.fuse,
        "features.mknod": features.mknod,
        "features.mount": list(features.mount),
    }


def ignore_matcher(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """`network` ignores `network[0].ip`; `network[*].hwaddr` ignores every NIC's hwaddr."""
    parts = []
    for pattern in sorted(set(patterns)):
        escaped = re.escape(pattern).replace(r"\[\*\]", r"\[\d+\]")
        parts.append(f"{escaped}(?:[.\\[].*)?")
    if not parts:
        return None
    return re.compile("^(?:" + "|".join(parts) + ")$")


def is_ignored(path: str, matcher: re.Pattern[str] | None) -> bool:
    return matcher is not None and matcher.fullmatch(path) is not None
