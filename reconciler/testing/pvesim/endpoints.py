"""Parameter tables of every simulated endpoint except the two big LXC option sets; pure data."""

from __future__ import annotations

from collections.abc import Mapping

from .schema import DIGEST, NODE, SNAPNAME, VMID, VMID_OPT, P, b, create_params, i, s, update_params

_CT: Mapping[str, P] = {"node": NODE, "vmid": VMID}
_DISKS = ("rootfs", *(f"mp{k}" for k in range(256)))
_TASK = {"node": NODE, "upid": s(opt=False)}

STATIC: Mapping[str, Mapping[str, P]] = {
    "GET /version": {},
    "POST /access/ticket": {
        "username": s(opt=False, maxlen=64),
        "password": s(opt=False),
        "realm": s(maxlen=32),
        "otp": s(),
        "tfa-challenge": s(),
        "new-format": b(),
        "path": s(maxlen=64, requires="privs"),
        "privs": s(maxlen=64, requires="path"),
    },
    "GET /cluster/resources": {"type": s(enum=("vm", "storage", "node", "sdn"))},
    "GET /cluster/nextid": {"vmid": VMID_OPT},
    "GET /nodes": {},
    "GET /nodes/{node}": {"node": NODE},
    "GET /nodes/{node}/lxc": {"node": NODE},
    "GET /nodes/{node}/lxc/{vmid}": dict(_CT),
    "DELETE /nodes/{node}/lxc/{vmid}": {
        **_CT,
        "force": b(),
        "purge": b(),
        "destroy-unreferenced-disks": b(),
    },
    "GET /nodes/{node}/lxc/{vmid}/config": {
        **_CT,
        "current": b(),
        "snapshot": s("pve-configid", maxlen=40),
    },
    "GET /nodes/{node}/lxc/{vmid}/pending": dict(_CT),
    "GET /nodes/{node}/lxc/{vmid}/status": dict(_CT),
    "GET /nodes/{node}/lxc/{vmid}/status/current": dict(_CT),
    "POST /nodes/{node}/lxc/{vmid}/status/start": {**_CT, "skiplock": b(), "debug": b()},
    "POST /nodes/{node}/lxc/{vmid}/status/stop": {
        **_CT,
        "skiplock": b(),
        "overrule-shutdown": b(),
    },
    "POST /nodes/{node}/lxc/{vmid}/status/shutdown": {
        **_CT,
        "timeout": i(0),
        "forceStop": b(),
    },
    "POST /nodes/{node}/lxc/{vmid}/status/reboot": {**_CT, "timeout": i(0)},
    "PUT /nodes/{node}/lxc/{vmid}/resize": {
        **_CT,
        "disk": s(opt=False, enum=_DISKS),
        "size": s(opt=False, pattern=r"\+?\d+(\.\d+)?[KMGT]?"),
        "digest": DIGEST,
    },
    "GET /nodes/{node}/lxc/{vmid}/snapshot": dict(_CT),
    "POST /nodes/{node}/lxc/{vmid}/snapshot": {
        **_CT,
        "snapname": SNAPNAME,
        "description": s(),
    },
    "DELETE /nodes/{node}/lxc/{vmid}/snapshot/{snapname}": {
        **_CT,
        "snapname": SNAPNAME,
        "force": b(),
    },
    "GET /nodes/{node}/lxc/{vmid}/snapshot/{snapname}": {**_CT, "snapname": SNAPNAME},
    "POST /nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback": {
        **_CT,
        "snapname": SNAPNAME,
        "start": b(),
    },
    "GET /nodes/{node}/lxc/{vmid}/snapshot/{snapname}/config": {**_CT, "snapname": SNAPNAME},
    "GET /nodes/{node}/tasks/{upid}/status": dict(_TASK),
    "GET /nodes/{node}/tasks/{upid}/log": {
        **_TASK,
        "start": i(0),
        "limit": i(0),
        "download": b(),
    },
    "GET /nodes/{node}/storage": {
        "node": NODE,
        "content": s("pve-storage-content-list"),
        "enabled": b(),
        "format": b(),
        "storage": s("pve-storage-id"),
        "target": s("pve-node"),
    },
    "GET /nodes/{node}/storage/{storage}/content": {
        "node": NODE,
        "storage": s("pve-storage-id", opt=False),
        "content": s("pve-storage-content"),
        "vmid": VMID_OPT,
    },
}


def params_for(route_key: str, version: str) -> Mapping[str, P]:
    """The parameter table for a route key like `PUT /nodes/{node}/lxc/{vmid}/config`."""
    if route_key == "POST /nodes/{node}/lxc":
        return create_params(version)
    if route_key == "PUT /nodes/{node}/lxc/{vmid}/config":
        return update_params(version)
    return STATIC[route_key]
