"""Cluster-wide and node-level read handlers: version, resources, nextid, nodes, storage, tasks."""

from __future__ import annotations

from typing import Any

from .context import Ctx, Params
from .errors import fail, param_error
from .formats import split_list
from .schema import is_v9
from .tasks import find_task, log_view, status_view
from .views import node_row, resource_guest, resource_storage, storage_row

_VERSIONS = {"8.3": ("8.3.2", "3e76eec21c4a14a7"), "9.0": ("9.0.3", "025864202ebb6109")}


def version(ctx: Ctx, p: Params) -> dict[str, Any]:
    """GET /version."""
    full, repoid = _VERSIONS.get(ctx.version, (f"{ctx.version}.0", "0000000000000000"))
    out: dict[str, Any] = {"version": full, "release": ctx.version, "repoid": repoid}
    if not is_v9(ctx.version):
        out["console"] = "xtermjs"
    return out


def resources(ctx: Ctx, p: Params) -> list[dict[str, Any]]:
    """GET /cluster/resources (type vm|storage|node; sdn gives nothing here)."""
    cl, kind = ctx.cluster, p.get("type")
    out: list[dict[str, Any]] = []
    if kind in (None, "vm"):
        for guest in sorted(cl.guests.values(), key=lambda g: g.vmid):
            row = resource_guest(cl, guest, ctx.now)
            if guest.node in ctx.offline:
                row["status"] = "unknown"  # PVE cannot tell while the node is unreachable
            out.append(row)
    if kind in (None, "node"):
        out.extend(
            node_row(cl, n, n.node in ctx.offline)
            for n in sorted(cl.nodes.values(), key=lambda n: n.node)
        )
    if kind in (None, "storage"):
        for node in sorted(cl.nodes):
            out.extend(
                resource_storage(cl, st, node)
                for st in sorted(cl.storages.values(), key=lambda s: s.storage)
                if st.enabled and (not st.nodes or node in st.nodes)
            )
    return out


def nextid(ctx: Ctx, p: Params) -> str:
    """GET /cluster/nextid: a JSON string on the wire, as real PVE sends it."""
    used = ctx.cluster.guests
    if "vmid" in p:
        if p["vmid"] in used:
            raise param_error({"vmid": f"VM {p['vmid']} already exists"})
        return str(p["vmid"])
    for vmid in range(100, 1000000):
        if vmid not in used:
            return str(vmid)
    raise fail("unable to get any free VMID in range [100, 1000000]")


def nodes(ctx: Ctx, p: Params) -> list[dict[str, Any]]:
    """GET /nodes."""
    rows = [
        node_row(ctx.cluster, n, n.node in ctx.offline)
        for n in sorted(ctx.cluster.nodes.values(), key=lambda n: n.node)
    ]
    for row in rows:
        row.pop("id")
        row.pop("type")
    return rows


def node_index(ctx: Ctx, p: Params) -> list[dict[str, str]]:
    """GET /nodes/{node}."""
    return [{"name": n} for n in ("lxc", "storage", "tasks", "status", "version")]


def storage_list(ctx: Ctx, p: Params) -> list[dict[str, Any]]:
    """GET /nodes/{node}/storage (filters: content, enabled, storage)."""
    wanted = set(split_list(str(p.get("content", ""))))
    rows = []
    for st in sorted(ctx.cluster.storages.values(), key=lambda s: s.storage):
        if st.nodes and p["node"] not in st.nodes:
            continue
        if wanted and not wanted & set(st.content):
            continue
        if p.get("enabled") and not st.enabled:
            continue
        if p.get("storage") and p["storage"] != st.storage:
            continue
        rows.append(storage_row(ctx.cluster, st))
    return rows


def storage_content(ctx: Ctx, p: Params) -> list[dict[str, Any]]:
    """GET /nodes/{node}/storage/{storage}/content (filters: content, vmid)."""
    name = str(p["storage"])
    st = ctx.cluster.storages.get(name)
    if st is None:
        raise fail(f"storage '{name}' does not exist")
    if st.nodes and p["node"] not in st.nodes:
        raise fail(f"storage '{name}' is not available on node '{p['node']}'")
    rows = []
    for vol in sorted(ctx.cluster.volumes.values(), key=lambda v: v.volid):
        if not vol.volid.startswith(f"{name}:"):
            continue
        if p.get("content") and vol.content != p["content"]:
            continue
        if p.get("vmid") and vol.vmid != p["vmid"]:
            continue
        row: dict[str, Any] = {
            "volid": vol.volid,
            "format": vol.format,
            "size": vol.size,
            "content": vol.content,
        }
        if vol.ctime:
            row["ctime"] = vol.ctime
        if vol.vmid is not None:
            row["vmid"] = vol.vmid
        rows.append(row)
    return rows


def task_status(ctx: Ctx, p: Params) -> dict[str, Any]:
    """GET /nodes/{node}/tasks/{upid}/status."""
    return status_view(find_task(ctx.cluster, p["node"], p["upid"]))


def task_log(ctx: Ctx, p: Params) -> list[dict[str, Any]]:
    """GET /nodes/{node}/tasks/{upid}/log (start 0, limit 50, limit=0 for all)."""
    task = find_task(ctx.cluster, p["node"], p["upid"])
    return log_view(task, int(p.get("start", 0)), int(p.get("limit", 50)))
