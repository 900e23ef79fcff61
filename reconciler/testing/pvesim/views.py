"""Read-side shapes of guests, nodes and storages as PVE lists them; no state changes."""

from __future__ import annotations

import re
from typing import Any

from .conf import effective
from .state import GIB, Cluster, Guest, Node, Storage
from .volumes import parse_size, used_bytes

MIB = 1024 * 1024


_SIZE_RE = re.compile(r"(?:^|,)size=([^,]+)")


def _disk_size(config: dict[str, Any]) -> int:
    # a plain regex: this runs for every guest on every /cluster/resources call
    m = _SIZE_RE.search(str(config.get("rootfs", "")))
    try:
        return parse_size(m.group(1)) if m else 0
    except ValueError:
        return 0


def guest_summary(cl: Cluster, guest: Guest, now: float) -> dict[str, Any]:
    """Fields shared by /nodes/{node}/lxc, status/current and /cluster/resources."""
    conf = guest.config
    running = guest.status == "running"
    cores = int(conf.get("cores", cl.nodes[guest.node].maxcpu if guest.node in cl.nodes else 1))
    out: dict[str, Any] = {
        "vmid": guest.vmid,
        "name": str(conf.get("hostname", f"CT{guest.vmid}")),
        "status": guest.status,
        "cpus": cores,
        "maxmem": int(conf.get("memory", 512)) * MIB,
        "maxswap": int(conf.get("swap", 512)) * MIB,
        "maxdisk": _disk_size(conf),
        "mem": 64 * MIB if running else 0,
        "disk": GIB // 2 if running else 0,
        "uptime": int(now - (guest.started_at or now)) if running else 0,
        "cpu": 0.01 if running else 0,
        "netin": 0,
        "netout": 0,
        "diskread": 0,
        "diskwrite": 0,
        "type": guest.kind,
    }
    for key in ("lock", "tags"):
        if conf.get(key):
            out[key] = conf[key]
    if conf.get("template"):
        out["template"] = 1
    return out


def status_current(cl: Cluster, guest: Guest, now: float) -> dict[str, Any]:
    """GET .../status/current."""
    out = guest_summary(cl, guest, now)
    out["ha"] = {"managed": 0}
    return out


def resource_guest(cl: Cluster, guest: Guest, now: float) -> dict[str, Any]:
    """A `/cluster/resources` vm row."""
    row = guest_summary(cl, guest, now)
    row["id"] = f"{guest.kind}/{guest.vmid}"
    row["node"] = guest.node
    row["maxcpu"] = row.pop("cpus")
    row.pop("maxswap", None)
    row["template"] = row.get("template", 0)
    return row


def node_row(cl: Cluster, node: Node, offline: bool) -> dict[str, Any]:
    """A `/nodes` row (also the base of a resources node row)."""
    running = [g for g in cl.guests.values() if g.node == node.node and g.status == "running"]
    row: dict[str, Any] = {
        "node": node.node,
        "id": f"node/{node.node}",
        "type": "node",
        "status": "offline" if offline else "online",
        "maxcpu": node.maxcpu,
        "maxmem": node.maxmem,
        "maxdisk": node.maxdisk,
        "level": "",
        "ssl_fingerprint": "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
    }
    if not offline:
        row.update(
            {"cpu": 0.02, "mem": (2 + len(running)) * GIB // 4, "disk": 10 * GIB, "uptime": 86400}
        )
    return row


def storage_row(cl: Cluster, st: Storage) -> dict[str, Any]:
    """A `/nodes/{node}/storage` row."""
    used = used_bytes(cl, st.storage)
    return {
        "storage": st.storage,
        "type": st.type,
        "content": ",".join(sorted(st.content)),
        "active": 1,
        "enabled": st.enabled,
        "shared": st.shared,
        "total": st.total,
        "used": used,
        "avail": max(st.total - used, 0),
        "used_fraction": round(used / st.total, 6) if st.total else 0,
    }


def resource_storage(cl: Cluster, st: Storage, node: str) -> dict[str, Any]:
    """A `/cluster/resources` storage row."""
    used = used_bytes(cl, st.storage)
    return {
        "id": f"storage/{node}/{st.storage}",
        "type": "storage",
        "storage": st.storage,
        "node": node,
        "status": "available",
        "plugintype": st.type,
        "content": ",".join(sorted(st.content)),
        "shared": st.shared,
        "maxdisk": st.total,
        "disk": used,
    }


def merged_config(guest: Guest) -> dict[str, Any]:
    """Effective config (pending applied)."""
    return effective(guest)
