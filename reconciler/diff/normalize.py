"""Normalise container settings and flatten them to spec field paths (both derived from
plan.container_fields); ignore patterns; pure, no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from reconciler.model.containers import OWNER_TAG, ContainerSettings
from reconciler.plan import container_fields
from reconciler.plan.container_fields import Flat

__all__ = [
    "Flat",
    "flatten",
    "ignore_matcher",
    "is_ignored",
    "normalize_settings",
    "normalize_tags",
    "ostype_from_template",
]

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


def normalize_tags(tags: Iterable[str], *, owner: bool) -> tuple[str, ...]:
    cleaned = {t.strip().lower() for t in tags if t.strip()}
    if owner:
        cleaned.add(OWNER_TAG)
    return tuple(sorted(cleaned))


def normalize_settings(settings: ContainerSettings, *, desired: bool) -> ContainerSettings:
    """Bring one side to canonical form so equal meaning compares equal (per registry entry)."""
    normal = container_fields.normalize(settings)
    return replace(normal, tags=normalize_tags(normal.tags, owner=desired))


def flatten(settings: ContainerSettings) -> Flat:
    """Settings -> {spec field path: value in spec units}, in a stable reading order."""
    return container_fields.flatten(settings)


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
