"""Guest config views: .conf text, digest, pending overlay, hotplug classes; no I/O."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from .errors import fail
from .state import Cluster, Guest

HOT_KEYS = frozenset(
    {
        "description",
        "onboot",
        "startup",
        "protection",
        "hostname",
        "hookscript",
        "cores",
        "tags",
        "lock",
        "memory",
        "swap",
        "cpulimit",
        "cpuunits",
    }
)
_HOT_FAMILY = re.compile(r"^(net|mp)\d+$")
REQUIRED = ("memory", "rootfs", "ostype")


def is_hot(key: str) -> bool:
    """Whether a running CT takes this option live (else it stays pending until restart)."""
    return key in HOT_KEYS or bool(_HOT_FAMILY.match(key))


def _section(config: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    desc = config.get("description")
    if desc:
        lines.extend("#" + part for part in str(desc).split("\n"))
    lines.extend(f"{k}: {v}" for k, v in sorted(config.items()) if k != "description")
    return lines


def render_conf(guest: Guest) -> str:
    """The guest's config file text (main section, pending section, snapshots)."""
    lines = _section(guest.config)
    if guest.pending or guest.pending_delete:
        lines.append("")
        lines.append("[pve:pending]")
        lines.extend(_section(guest.pending))
        if guest.pending_delete:
            lines.append("delete: " + ",".join(guest.pending_delete))
    for name in sorted(guest.snapshots):
        lines.append("")
        lines.append(f"[{name}]")
        lines.extend(_section(guest.snapshots[name]))
    return "\n".join(lines) + "\n"


def digest(guest: Guest) -> str:
    """SHA1 of the config file, as PVE computes it."""
    return hashlib.sha1(render_conf(guest).encode("utf-8")).hexdigest()  # noqa: S324 - PVE's choice


def effective(guest: Guest) -> dict[str, Any]:
    """The config with pending values applied (what GET config shows without current=1)."""
    out = dict(guest.config)
    out.update(guest.pending)
    for key in guest.pending_delete:
        out.pop(key, None)
    return out


def config_view(guest: Guest, current: bool) -> dict[str, Any]:
    """GET .../config payload."""
    out = dict(guest.config) if current else effective(guest)
    out["digest"] = digest(guest)
    return out


def pending_view(guest: Guest) -> list[dict[str, Any]]:
    """GET .../pending payload."""
    rows: list[dict[str, Any]] = []
    for key in sorted(set(guest.config) | set(guest.pending) | set(guest.pending_delete)):
        row: dict[str, Any] = {"key": key}
        if key in guest.config:
            row["value"] = guest.config[key]
        if key in guest.pending:
            row["pending"] = guest.pending[key]
        if key in guest.pending_delete:
            row["delete"] = 1
        rows.append(row)
    # Real PVE lists every scalar key of the loaded config here, `digest` included.
    rows.append({"key": "digest", "value": digest(guest)})
    return sorted(rows, key=lambda row: str(row["key"]))


def apply_pending(guest: Guest) -> None:
    """What a (re)start does: pending changes become the config."""
    guest.config.update(guest.pending)
    for key in guest.pending_delete:
        guest.config.pop(key, None)
    guest.pending = {}
    guest.pending_delete = []


def load_guest(cl: Cluster, node: str, vmid: int) -> Guest:
    """The CT on that node, or PVE's `Configuration file ... does not exist` (500)."""
    guest = cl.guests.get(vmid)
    if guest is None or guest.node != node or guest.kind != "lxc":
        raise fail(f"Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist")
    return guest


def check_lock(guest: Guest) -> None:
    """PVE's check_lock: any `lock` in the config refuses the operation."""
    lock = guest.config.get("lock")
    if lock:
        raise fail(f"CT is locked ({lock})")


def assert_digest(guest: Guest, given: str | None) -> None:
    """Optimistic concurrency check with PVE's wording."""
    if given and given != digest(guest):
        raise fail("detected modified configuration - file changed by other user? Try again.")


def lxc_volumes(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, raw value) of rootfs and mpN entries."""
    return [
        (k, str(v)) for k, v in sorted(config.items()) if k == "rootfs" or re.fullmatch(r"mp\d+", k)
    ]


def next_free(config: dict[str, Any], prefix: str, limit: int) -> str:
    """First unused `<prefix>N` key (e.g. unused0)."""
    for idx in range(limit):
        if f"{prefix}{idx}" not in config:
            return f"{prefix}{idx}"
    raise fail(f"unable to find free {prefix} slot")
