"""ProxmoxApplier with operations alone: hand-written operations, no spec anywhere in scope,
against the simulator; the write log is exactly the operations, a repeat sends nothing."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.apply.errors import PermanentError
from reconciler.model.containers import OWNER_TAG
from reconciler.plan.change import Action, Change, Operation
from reconciler.plan.container_ops import (
    AttachMount,
    Create,
    DetachMount,
    Power,
    ResizeDisk,
    SetConfig,
    UpdateItem,
)
from reconciler.providers.proxmox.client import PveClient
from reconciler.report.outcome import Status
from reconciler.testing.pvesim import PveSim

from .helpers import TEMPLATE, make_applier, make_client

VMID = 230
BASE = f"/nodes/pve/lxc/{VMID}"
NET0 = "name=eth0,bridge=vmbr0,ip=10.0.0.2/24,trunks=10;20,type=veth"


def _line(action: Action, *ops: Operation, digest: str | None = None, **options: Any) -> Change:
    pre: tuple[tuple[str, Any], ...] = (("vmid", VMID), ("node", "pve"))
    if digest is not None:
        pre = (("digest", digest), *pre)
    return Change("container/ops", action, "test", (), (), pre, tuple(options.items()), tuple(ops))


def _writes(sim: PveSim) -> list[tuple[str, str, dict[str, str]]]:
    return [
        (r.method, r.path, {k: str(v) for k, v in r.params.items() if k != "digest"})
        for r in sim.requests()
        if r.method != "GET"
    ]


def _config(client: PveClient) -> dict[str, Any]:
    raw = client.get(f"nodes/pve/lxc/{VMID}/config")
    assert isinstance(raw, dict)
    return raw


def _created(pvesim: PveSim) -> PveClient:
    client = make_client(pvesim)
    params = (
        ("vmid", VMID),
        ("ostemplate", TEMPLATE),
        ("start", 0),
        ("hostname", "ops"),
        ("memory", 1024),
        ("cores", 2),
        ("rootfs", "local-lvm:4"),
        ("mp0", "local-lvm:1,mp=/data,backup=1"),
        ("net0", NET0),
        ("tags", f"{OWNER_TAG};reconciler-create-pending"),
        ("unprivileged", 1),
    )
    create = Create(VMID, params, OWNER_TAG, start=False)
    outcome = make_applier(client).apply(_line(Action.CREATE, create))
    assert outcome.status is Status.APPLIED
    assert _config(client)["tags"] == OWNER_TAG  # the pending tag was cleared
    return client


def test_an_update_line_sends_its_operations_as_one_put_and_a_repeat_sends_nothing(
    pvesim: PveSim,
) -> None:
    client = _created(pvesim)
    ops = (
        SetConfig((("memory", 2048),), ("cores",)),
        UpdateItem("net0", (("ip", "10.0.0.3/24"),)),
        AttachMount("mp1", "local-lvm:1,mp=/logs"),
    )
    before = _config(client)
    assert "hwaddr=" in before["net0"] and "ip=10.0.0.2/24" in before["net0"]  # MAC by PVE
    line = _line(Action.UPDATE, *ops, digest=str(before["digest"]))
    pvesim.clear_requests()
    assert make_applier(client).apply(line).status is Status.APPLIED
    (put,) = _writes(pvesim)
    assert put[:2] == ("PUT", f"{BASE}/config")
    assert put[2] == {
        "memory": "2048",
        # only `ip` changes: the generated MAC and the unmanaged trunks go back as PVE has them
        "net0": before["net0"].replace("ip=10.0.0.2/24", "ip=10.0.0.3/24"),
        "mp1": "local-lvm:1,mp=/logs",
        "delete": "cores",
    }
    config = _config(client)
    assert config["memory"] == 2048 and "cores" not in config
    assert "trunks=10;20" in config["net0"]  # a sub-key no operation names is kept
    assert config["mp1"].startswith("local-lvm:vm-230-disk-")  # allocated by PVE

    pvesim.clear_requests()  # the same line again (a retry after a lost answer): no write
    make_applier(client).apply(line)
    assert _writes(pvesim) == []


def test_resize_power_and_a_detach_that_needs_its_opt_in(pvesim: PveSim) -> None:
    client = _created(pvesim)
    applier = make_applier(client)
    digest = str(_config(client)["digest"])
    pvesim.clear_requests()
    applier.apply(_line(Action.RESIZE, ResizeDisk("rootfs", 6 * 1024**3), digest=digest))
    applier.apply(_line(Action.START, Power("start")))
    assert [(m, p) for m, p, _ in _writes(pvesim)] == [
        ("PUT", f"{BASE}/resize"),
        ("POST", f"{BASE}/status/start"),
    ]
    assert "size=6G" in _config(client)["rootfs"]

    detach = _line(Action.UPDATE, DetachMount("mp0"), digest=str(_config(client)["digest"]))
    pvesim.clear_requests()
    with pytest.raises(PermanentError, match="allow_destructive"):
        applier.apply(detach)
    assert _writes(pvesim) == []
    allowed = _line(
        Action.UPDATE,
        DetachMount("mp0"),
        digest=str(_config(client)["digest"]),
        allow_destructive=True,
    )
    applier.apply(allowed)
    assert "mp0" not in _config(client)


def test_a_line_without_operations_is_refused_before_any_call(pvesim: PveSim) -> None:
    client = make_client(pvesim)
    pvesim.clear_requests()
    with pytest.raises(PermanentError, match="no operations"):
        make_applier(client).apply(_line(Action.UPDATE))
    assert pvesim.requests() == []
