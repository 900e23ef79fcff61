"""Config handlers: GET/PUT config with pending semantics, GET pending, resize and its worker."""

from __future__ import annotations

import re
from typing import Any

from .conf import (
    REQUIRED,
    assert_digest,
    check_lock,
    config_view,
    effective,
    is_hot,
    load_guest,
    next_free,
    pending_view,
)
from .context import Ctx, Params
from .errors import TaskFailure, fail, param_error
from .formats import split_list
from .options import (
    canonical_mount,
    canonical_net,
    canonical_value,
    check_bridge,
    check_root_only,
    is_mount_key,
    is_net_key,
)
from .schema import config_keys, schema_key
from .state import Cluster, Guest, Task
from .tasks import check_injected, start_task
from .validate import parse_propstr, render_propstr
from .volumes import (
    alloc_request,
    format_size,
    mount_type,
    parse_size,
    require_rootdir,
    storage_on_node,
)

_RESIZE = re.compile(r"^(\+)?(\d+(?:\.\d+)?)([KMGT])?$")


def get_config(ctx: Ctx, p: Params) -> dict[str, Any]:
    """GET .../config (pending shown as applied unless current=1; snapshot=NAME)."""
    guest = load_guest(ctx.cluster, p["node"], p["vmid"])
    snap = p.get("snapshot")
    if snap:
        if snap not in guest.snapshots:
            raise fail(f"snapshot '{snap}' does not exist")
        out = dict(guest.snapshots[snap])
        out["digest"] = config_view(guest, True)["digest"]
        return out
    return config_view(guest, bool(p.get("current")))


def get_pending(ctx: Ctx, p: Params) -> list[dict[str, Any]]:
    """GET .../pending."""
    return pending_view(load_guest(ctx.cluster, p["node"], p["vmid"]))


def _old_features(ctx: Ctx, guest: Guest) -> dict[str, Any]:
    feats = effective(guest).get("features")
    return parse_propstr("features", str(feats), ctx.version) if feats else {}


def put_config(ctx: Ctx, p: Params) -> None:
    """PUT .../config: synchronous; running CTs keep non-hotplug changes pending."""
    opts = {k: v for k, v in p.items() if k not in ("node", "vmid", "digest", "delete", "revert")}
    delete = split_list(str(p.get("delete", "")))
    revert = split_list(str(p.get("revert", "")))
    if not opts and not delete and not revert:
        raise fail("no options specified")
    known = config_keys(ctx.version)
    for key in delete:
        if schema_key(key) not in known:
            raise param_error({"delete": f"unknown option '{key}'"})
        if key in opts:
            raise param_error(
                {"delete": f"you can't use '-{key}' and -delete {key}' at the same time"}
            )
    for key in revert:
        if schema_key(key) not in known:
            raise param_error({"revert": f"unknown option '{key}'"})
    guest = load_guest(ctx.cluster, p["node"], p["vmid"])
    check_lock(guest)
    assert_digest(guest, p.get("digest"))
    if "unprivileged" in opts:
        raise fail("unable to modify read-only option: 'unprivileged'")
    for key in delete:
        if key in REQUIRED:
            raise fail(f"unable to delete required option '{key}'")
    unpriv = bool(effective(guest).get("unprivileged"))
    check_root_only(ctx, opts, unpriv, _old_features(ctx, guest), delete)
    if guest.config.get("protection"):
        for key in delete:
            if is_mount_key(key):
                raise fail(f"can't update CT {guest.vmid} drive '{key}' - protection mode enabled")
    _precheck_storages(ctx, guest, opts)
    running = guest.status == "running"
    if running:
        errors = {
            k: f"unable to hotplug {k}: {err}"
            for k, v in sorted(opts.items())
            if is_net_key(k) and (err := check_bridge(ctx, guest.node, k, str(v)))
        }
        if errors:
            raise param_error(errors)
    for key in revert:
        guest.pending.pop(key, None)
        if key in guest.pending_delete:
            guest.pending_delete.remove(key)
    for key, value in sorted(opts.items()):
        _set(ctx, guest, key, _canonical(ctx, guest, key, value), running)
    for key in delete:
        _delete(guest, key, running)


def _precheck_storages(ctx: Ctx, guest: Guest, opts: Params) -> None:
    """Check every storage to allocate on first, so a failing PUT changes nothing."""
    for key, value in sorted(opts.items()):
        if is_mount_key(key):
            fmt = "rootfs" if key == "rootfs" else "mp"
            req = alloc_request(str(parse_propstr(fmt, str(value), ctx.version)["volume"]))
            if req:
                require_rootdir(storage_on_node(ctx.cluster, req[0], guest.node))


def _canonical(ctx: Ctx, guest: Guest, key: str, value: Any) -> Any:
    if is_mount_key(key):
        return canonical_mount(ctx, guest.vmid, guest.node, key, str(value))
    if is_net_key(key):
        ctx.cluster.next_pid += 1  # a fresh salt: PVE draws a new random MAC when none is given
        return canonical_net(ctx, guest.vmid, key, str(value), ctx.cluster.next_pid)
    return canonical_value(ctx, key, value)


def _set(ctx: Ctx, guest: Guest, key: str, value: Any, running: bool) -> None:
    if running and not is_hot(key):
        guest.pending[key] = value
        if key in guest.pending_delete:
            guest.pending_delete.remove(key)
        return
    old = guest.config.get(key)
    if is_mount_key(key) and old is not None:
        _unuse(ctx, guest, key, str(old), str(value))
    guest.config[key] = value
    guest.pending.pop(key, None)


def _unuse(ctx: Ctx, guest: Guest, key: str, old: str, new: str) -> None:
    """A replaced volume is kept as unusedN, as PVE does."""
    fmt = "rootfs" if key == "rootfs" else "mp"
    old_vol = str(parse_propstr(fmt, old, ctx.version)["volume"])
    new_vol = str(parse_propstr(fmt, new, ctx.version)["volume"])
    if old_vol != new_vol and mount_type(old_vol) == "volume":
        guest.config[next_free(guest.config, "unused", 256)] = old_vol


def _delete(guest: Guest, key: str, running: bool) -> None:
    if running and not is_hot(key):
        if key in guest.config and key not in guest.pending_delete:
            guest.pending_delete.append(key)
        guest.pending.pop(key, None)
        return
    old = guest.config.pop(key, None)
    guest.pending.pop(key, None)
    if old is not None and re.fullmatch(r"mp\d+", key):
        vol = str(old).split(",", 1)[0]
        if mount_type(vol) == "volume":
            guest.config[next_free(guest.config, "unused", 256)] = vol


def resize(ctx: Ctx, p: Params) -> str:
    """PUT .../resize: grow only; the size checks run before the fork."""
    guest = load_guest(ctx.cluster, p["node"], p["vmid"])
    check_lock(guest)
    assert_digest(guest, p.get("digest"))
    disk = str(p["disk"])
    value = guest.config.get(disk)
    if value is None:
        raise fail(f"disk '{disk}' does not exist")
    fmt = "rootfs" if disk == "rootfs" else "mp"
    props = parse_propstr(fmt, str(value), ctx.version)
    volid = str(props["volume"])
    if mount_type(volid) != "volume":
        raise fail("you can't resize a mount point that is not a volume")
    vol = ctx.cluster.volumes.get(volid)
    size = vol.size if vol else parse_size(str(props.get("size", "0")))
    m = _RESIZE.match(str(p["size"]))
    if not m:
        raise param_error({"size": "value does not match the regex pattern"})
    unit = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}[m.group(3) or ""]
    newsize = int(float(m.group(2)) * unit) + (size if m.group(1) else 0)
    if newsize < size:
        raise fail("unable to shrink disk size")
    if newsize == size:
        raise fail("disk is already at specified size")
    return start_task(
        ctx,
        guest.node,
        "resize",
        str(guest.vmid),
        "resize",
        {"disk": disk, "size": newsize, "version": ctx.version},
    )


def w_resize(cl: Cluster, task: Task) -> list[str]:
    """resize worker: grow the volume and rewrite `size=`."""
    check_injected(task)
    guest = cl.guests.get(int(task.id))
    if guest is None:
        raise TaskFailure(
            f"Configuration file 'nodes/{task.node}/lxc/{task.id}.conf' does not exist"
        )
    disk, newsize, version = str(task.args["disk"]), int(task.args["size"]), task.args["version"]
    fmt = "rootfs" if disk == "rootfs" else "mp"
    props = parse_propstr(fmt, str(guest.config[disk]), version)
    vol = cl.volumes.get(str(props["volume"]))
    old = vol.size if vol else 0
    if vol:
        vol.size = newsize
    props["size"] = format_size(newsize)
    guest.config[disk] = render_propstr(fmt, props, version)
    name = str(props["volume"]).split(":", 1)[-1]
    return [
        f"  Size of logical volume pve/{name} changed from {old / 1024**3:.2f} GiB to "
        f"{newsize / 1024**3:.2f} GiB.",
        f"  Logical volume pve/{name} successfully resized.",
    ]
