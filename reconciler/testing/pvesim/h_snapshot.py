"""Snapshot handlers and workers: list, create, delete, rollback, snapshot config."""

from __future__ import annotations

from typing import Any

from .conf import check_lock, load_guest, lxc_volumes
from .context import Ctx, Params
from .errors import TaskFailure, fail
from .formats import parse_volid
from .state import Cluster, Guest, Task
from .tasks import check_injected, start_task

RESERVED = ("current", "vzdump")


def list_snapshots(ctx: Ctx, p: Params) -> list[dict[str, Any]]:
    """GET .../snapshot (ends with the `current` pseudo entry)."""
    guest = load_guest(ctx.cluster, p["node"], p["vmid"])
    out: list[dict[str, Any]] = []
    for name, snap in sorted(guest.snapshots.items()):
        row: dict[str, Any] = {
            "name": name,
            "description": snap.get("description", ""),
            "snaptime": snap.get("snaptime", 0),
        }
        if snap.get("parent"):
            row["parent"] = snap["parent"]
        out.append(row)
    cur: dict[str, Any] = {
        "name": "current",
        "description": "You are here!",
        "running": int(guest.status == "running"),
    }
    if guest.config.get("parent"):
        cur["parent"] = guest.config["parent"]
    out.append(cur)
    return out


def snapshot_index(ctx: Ctx, p: Params) -> list[dict[str, str]]:
    """GET .../snapshot/{snapname}."""
    _snap(load_guest(ctx.cluster, p["node"], p["vmid"]), p["snapname"], sync=True)
    return [{"subdir": "config"}, {"subdir": "rollback"}]


def snapshot_config(ctx: Ctx, p: Params) -> dict[str, Any]:
    """GET .../snapshot/{snapname}/config."""
    guest = load_guest(ctx.cluster, p["node"], p["vmid"])
    return dict(_snap(guest, p["snapname"], sync=True))


def _snap(guest: Guest, name: str, sync: bool) -> dict[str, Any]:
    snap = guest.snapshots.get(name)
    if snap is None:
        msg = f"snapshot '{name}' does not exist"
        raise fail(msg) if sync else TaskFailure(msg)
    return snap


def create_snapshot(ctx: Ctx, p: Params) -> str:
    """POST .../snapshot."""
    guest = load_guest(ctx.cluster, p["node"], p["vmid"])
    name = str(p["snapname"])
    if name in RESERVED:
        raise fail(f"unable to use snapshot name '{name}' (reserved name)")
    return start_task(
        ctx,
        guest.node,
        "vzsnapshot",
        str(guest.vmid),
        "snapshot",
        {"snapname": name, "description": p.get("description", "")},
    )


def _guest(cl: Cluster, task: Task) -> Guest:
    check_injected(task)
    guest = cl.guests.get(int(task.id))
    if guest is None:
        raise TaskFailure(
            f"Configuration file 'nodes/{task.node}/lxc/{task.id}.conf' does not exist"
        )
    return guest


def w_snapshot(cl: Cluster, task: Task) -> list[str]:
    """vzsnapshot worker."""
    guest = _guest(cl, task)
    name = str(task.args["snapname"])
    check_lock(guest)
    if name in guest.snapshots:
        raise TaskFailure(f"snapshot name '{name}' already used")
    for _key, value in lxc_volumes(guest.config):
        vol = parse_volid(value.split(",", 1)[0])
        st = cl.storages.get(vol[0]) if vol else None
        if st is None or st.type == "dir":
            raise TaskFailure("snapshot feature is not available")
    snap = {k: v for k, v in guest.config.items() if k != "parent"}
    if guest.config.get("parent"):
        snap["parent"] = guest.config["parent"]
    snap["snaptime"] = task.starttime
    if task.args.get("description"):
        snap["description"] = task.args["description"]
    guest.snapshots[name] = snap
    guest.config["parent"] = name
    return [f"create snapshot '{name}'"]


def delete_snapshot(ctx: Ctx, p: Params) -> str:
    """DELETE .../snapshot/{snapname}."""
    guest = load_guest(ctx.cluster, p["node"], p["vmid"])
    return start_task(
        ctx,
        guest.node,
        "vzdelsnapshot",
        str(guest.vmid),
        "delsnapshot",
        {"snapname": str(p["snapname"])},
    )


def w_delsnapshot(cl: Cluster, task: Task) -> list[str]:
    """vzdelsnapshot worker: children re-parent to the deleted snapshot's parent."""
    guest = _guest(cl, task)
    name = str(task.args["snapname"])
    check_lock(guest)
    snap = _snap(guest, name, sync=False)
    parent = snap.get("parent")
    for other in guest.snapshots.values():
        if other.get("parent") == name:
            _reparent(other, parent)
    if guest.config.get("parent") == name:
        _reparent(guest.config, parent)
    del guest.snapshots[name]
    return [f"delete snapshot '{name}'"]


def _reparent(conf: dict[str, Any], parent: Any) -> None:
    if parent:
        conf["parent"] = parent
    else:
        conf.pop("parent", None)


def rollback(ctx: Ctx, p: Params) -> str:
    """POST .../snapshot/{snapname}/rollback."""
    guest = load_guest(ctx.cluster, p["node"], p["vmid"])
    return start_task(
        ctx,
        guest.node,
        "vzrollback",
        str(guest.vmid),
        "rollback",
        {"snapname": str(p["snapname"]), "start": bool(p.get("start"))},
    )


def w_rollback(cl: Cluster, task: Task) -> list[str]:
    """vzrollback worker: stops the CT, restores the snapshot config, optionally starts."""
    guest = _guest(cl, task)
    name = str(task.args["snapname"])
    check_lock(guest)
    snap = _snap(guest, name, sync=False)
    conf = {k: v for k, v in snap.items() if k not in ("snaptime", "description", "parent")}
    conf["parent"] = name
    guest.config, guest.pending, guest.pending_delete = conf, {}, []
    guest.status, guest.started_at = "stopped", None
    if task.args.get("start"):
        guest.status, guest.started_at = "running", task.finish_at
    return [f"rollback to snapshot '{name}'"]
