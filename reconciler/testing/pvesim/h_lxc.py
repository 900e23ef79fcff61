"""LXC lifecycle handlers and workers: list, create, destroy, status and power actions."""

from __future__ import annotations

import re
from typing import Any

from .conf import apply_pending, check_lock, load_guest
from .context import Ctx, Params
from .errors import TaskFailure, fail, param_error
from .formats import parse_volid
from .options import (
    canonical_mount,
    canonical_net,
    canonical_value,
    check_root_only,
    detect_arch,
    detect_ostype,
    is_mount_key,
    is_net_key,
)
from .state import Cluster, Guest, Task
from .tasks import check_injected, start_task
from .validate import parse_propstr
from .views import guest_summary, status_current
from .volumes import mount_type, storage_of, storage_on_node, supports_rootdir, template_volume

CREATE_ONLY = {
    "node",
    "vmid",
    "ostemplate",
    "bwlimit",
    "force",
    "ignore-unpack-errors",
    "password",
    "pool",
    "restore",
    "ssh-public-keys",
    "start",
    "storage",
    "unique",
    "ha-managed",
    "debug",
    "lock",
}


def list_lxc(ctx: Ctx, p: Params) -> list[dict[str, Any]]:
    """GET /nodes/{node}/lxc."""
    return [
        guest_summary(ctx.cluster, g, ctx.now)
        for g in sorted(ctx.cluster.guests.values(), key=lambda g: g.vmid)
        if g.node == p["node"] and g.kind == "lxc"
    ]


def ct_index(ctx: Ctx, p: Params) -> list[dict[str, str]]:
    """GET /nodes/{node}/lxc/{vmid}."""
    load_guest(ctx.cluster, p["node"], p["vmid"])
    return [{"subdir": s} for s in ("config", "pending", "status", "snapshot", "resize")]


def create(ctx: Ctx, p: Params) -> str:
    """POST /nodes/{node}/lxc: early checks synchronously, the rest in a vzcreate worker."""
    cl, vmid, node = ctx.cluster, p["vmid"], p["node"]
    storage = str(p.get("storage", "local"))
    check_root_only(ctx, p, bool(p.get("unprivileged", 1)), {}, [])
    for sid in _volume_storages(ctx, p, storage):
        st = storage_on_node(cl, sid, node)
        if not supports_rootdir(st):
            raise param_error(
                {"storage": f"storage '{sid}' does not support container directories"}
            )
    existing = cl.guests.get(vmid)
    if existing is not None:
        kind = "CT" if existing.kind == "lxc" else "VM"
        raise fail(f"{kind} {vmid} already exists on node '{existing.node}'")
    tmpl = parse_volid(str(p["ostemplate"]))
    if tmpl:
        storage_of(cl, tmpl[0])
    has_mp = any(k.startswith("mp") for k in p)
    if p.get("restore") and has_mp and "rootfs" not in p:
        raise fail("mount points configured, but 'rootfs' not set - aborting")
    cl.guests[vmid] = Guest(vmid=vmid, node=node, config={"lock": "create"})
    kind = "vzrestore" if p.get("restore") else "vzcreate"
    return start_task(ctx, node, kind, str(vmid), "create", {"params": p, "version": ctx.version})


def _volume_storages(ctx: Ctx, p: Params, storage: str) -> list[str]:
    """Storages of the volumes a create will use (PVE checks each before the fork)."""
    mounts = {k: str(v) for k, v in p.items() if is_mount_key(k)}
    mounts.setdefault("rootfs", f"{storage}:4")
    found: list[str] = []
    for key, value in sorted(mounts.items()):
        fmt = "rootfs" if key == "rootfs" else "mp"
        volume = str(parse_propstr(fmt, value, ctx.version)["volume"])
        if mount_type(volume) != "volume":
            continue
        if re.fullmatch(r"\d+(\.\d+)?", volume):
            volume = f"{storage}:{volume}"
        parsed = parse_volid(volume)
        if parsed and parsed[0] not in found:
            found.append(parsed[0])
    return found


def _worker_ctx(cl: Cluster, task: Task) -> Ctx:
    from .context import Identity

    return Ctx(
        cl,
        Identity(task.user),
        str(task.args.get("version", "8.3")),
        0.0,
        float(task.starttime),
        False,
        {},
    )


def w_create(cl: Cluster, task: Task) -> list[str]:
    """vzcreate worker: allocate, write the final config; on failure remove the CT."""
    p: dict[str, Any] = task.args["params"]
    vmid = int(p["vmid"])
    verb = "restore" if p.get("restore") else "create"
    before = set(cl.volumes)
    try:
        check_injected(task)
        conf, log = _build_config(_worker_ctx(cl, task), p, task.pid)
    except Exception as exc:
        for volid in set(cl.volumes) - before:
            del cl.volumes[volid]
        cl.guests.pop(vmid, None)
        msg = exc.message if hasattr(exc, "message") else str(exc)
        raise TaskFailure(f"unable to {verb} CT {vmid} - {msg}".rstrip()) from exc
    guest = cl.guests[vmid]
    guest.config = conf
    if p.get("start"):
        guest.status, guest.started_at = "running", float(task.finish_at)
        log.append(f"Starting CT {vmid}")
    return log


def _build_config(ctx: Ctx, p: Params, salt: int) -> tuple[dict[str, Any], list[str]]:
    cl, vmid, node = ctx.cluster, int(p["vmid"]), str(p["node"])
    template = str(p["ostemplate"])
    if p.get("restore"):
        raise TaskFailure(f"unable to read backup archive '{template}'")
    template_volume(cl, template)
    storage = str(p.get("storage", "local"))
    conf: dict[str, Any] = {}
    warnings: list[str] = []
    for key, value in p.items():
        if key.startswith("unused"):
            # PVE manages unusedN itself: a create ignores them with a warning
            warnings.append(f"WARN: ignoring '{key}' - unused volumes are managed internally")
            continue
        if key in CREATE_ONLY:
            continue
        if is_mount_key(key):
            conf[key] = canonical_mount(ctx, vmid, node, key, str(value), storage)
        elif is_net_key(key):
            conf[key] = canonical_net(ctx, vmid, key, str(value), salt)
        else:
            conf[key] = canonical_value(ctx, key, value)
    if "rootfs" not in conf:
        conf["rootfs"] = canonical_mount(ctx, vmid, node, "rootfs", f"{storage}:4")
    conf.setdefault("hostname", f"CT{vmid}")
    conf.setdefault("memory", 512)
    conf.setdefault("swap", 512)
    conf.setdefault("ostype", detect_ostype(template))
    conf.setdefault("arch", detect_arch(template))
    if not p.get("restore"):
        conf.setdefault("unprivileged", 1)
    if not conf.get("unprivileged"):
        conf.pop("unprivileged", None)
    name = template.rsplit("/", 1)[-1]
    log = [
        f"extracting archive '/var/lib/vz/template/cache/{name}'",
        "Total bytes read: 524288000 (500MiB, 250MiB/s)",
        f"Detected container architecture: {conf['arch']}",
        "Creating SSH host key 'ssh_host_ed25519_key' - this may take some time ...",
        *warnings,
    ]
    return conf, log


def destroy(ctx: Ctx, p: Params) -> str:
    """DELETE /nodes/{node}/lxc/{vmid}: protection, lock and running checks before the fork."""
    guest = load_guest(ctx.cluster, p["node"], p["vmid"])
    if guest.config.get("protection"):
        raise fail(f"can't remove CT {guest.vmid} - protection mode enabled")
    check_lock(guest)
    if guest.status == "running" and not p.get("force"):
        raise fail(f"unable to destroy CT {guest.vmid} - container is running")
    return start_task(ctx, guest.node, "vzdestroy", str(guest.vmid), "destroy")


def w_destroy(cl: Cluster, task: Task) -> list[str]:
    """vzdestroy worker: remove owned volumes and the config."""
    check_injected(task)
    vmid = int(task.id)
    log = []
    for volid, vol in sorted(cl.volumes.items()):
        if vol.vmid == vmid and vol.content == "rootdir":
            del cl.volumes[volid]
            log.append(f'Logical volume "{volid.split(":", 1)[1]}" successfully removed.')
    cl.guests.pop(vmid, None)
    return log


def status(ctx: Ctx, p: Params) -> dict[str, Any]:
    """GET .../status/current."""
    guest = load_guest(ctx.cluster, p["node"], p["vmid"])
    return status_current(ctx.cluster, guest, ctx.now)


def status_index(ctx: Ctx, p: Params) -> list[dict[str, str]]:
    """GET .../status."""
    load_guest(ctx.cluster, p["node"], p["vmid"])
    return [{"subdir": s} for s in ("current", "start", "stop", "shutdown", "reboot")]


def _power(
    ctx: Ctx, p: Params, want_running: bool, kind: str, action: str, vm_word: str = "CT"
) -> str:
    guest = load_guest(ctx.cluster, p["node"], p["vmid"])
    if p.get("skiplock") and not ctx.identity.is_root:
        raise param_error({"skiplock": "Only root may use this option."})
    running = guest.status == "running"
    if want_running and running:
        raise fail(f"CT {guest.vmid} already running")
    if not want_running and not running:
        raise fail(f"{vm_word} {guest.vmid} not running")
    return start_task(
        ctx, guest.node, kind, str(guest.vmid), action, {"skiplock": bool(p.get("skiplock"))}
    )


def start(ctx: Ctx, p: Params) -> str:
    """POST .../status/start."""
    return _power(ctx, p, True, "vzstart", "start")


def stop(ctx: Ctx, p: Params) -> str:
    """POST .../status/stop."""
    return _power(ctx, p, False, "vzstop", "stop")


def shutdown(ctx: Ctx, p: Params) -> str:
    """POST .../status/shutdown."""
    return _power(ctx, p, False, "vzshutdown", "shutdown")


def reboot(ctx: Ctx, p: Params) -> str:
    """POST .../status/reboot (PVE words the stopped case with `VM`)."""
    return _power(ctx, p, False, "vzreboot", "reboot", vm_word="VM")


def _worker_guest(cl: Cluster, task: Task) -> Guest:
    check_injected(task)
    guest = cl.guests.get(int(task.id))
    if guest is None:
        raise TaskFailure(
            f"Configuration file 'nodes/{task.node}/lxc/{task.id}.conf' does not exist"
        )
    if not task.args.get("skiplock"):
        check_lock(guest)
    return guest


def _boot(cl: Cluster, guest: Guest, when: float) -> None:
    if guest.config.get("template"):
        raise TaskFailure("you can't start a CT if it's a template")
    apply_pending(guest)
    node = cl.nodes[guest.node]
    for key, value in sorted(guest.config.items()):
        if is_net_key(key):
            bridge = dict(x.split("=", 1) for x in str(value).split(",") if "=" in x).get("bridge")
            if bridge and bridge not in node.bridges:
                raise TaskFailure(f"bridge '{bridge}' does not exist")
    guest.status, guest.started_at = "running", when


def w_start(cl: Cluster, task: Task) -> list[str]:
    """vzstart worker (pending changes are applied on start)."""
    guest = _worker_guest(cl, task)
    if guest.status == "running":
        raise TaskFailure(f"CT {guest.vmid} already running")
    _boot(cl, guest, task.finish_at)
    return []


def w_stop(cl: Cluster, task: Task) -> list[str]:
    """vzstop / vzshutdown worker."""
    guest = _worker_guest(cl, task)
    guest.status, guest.started_at = "stopped", None
    return []


def w_reboot(cl: Cluster, task: Task) -> list[str]:
    """vzreboot worker: stop, apply pending, start."""
    guest = _worker_guest(cl, task)
    guest.status = "stopped"
    _boot(cl, guest, task.finish_at)
    return []
