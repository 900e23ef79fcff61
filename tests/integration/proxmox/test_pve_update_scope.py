"""Refused or ignored mount points / NICs stay untouched when other lines of the CT apply."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.apply.errors import PermanentError
from reconciler.diff.containers import plan_containers
from reconciler.diff.planner import PlanOptions
from reconciler.model.containers import (
    ContainerSpec,
    MountPoint,
    NetworkInterface,
    RestartMode,
    Volume,
)
from reconciler.model.units import GIB
from reconciler.plan.change import Action, Change, FieldChange
from reconciler.providers.proxmox.client import PveClient
from reconciler.providers.proxmox.observe import observe_containers
from reconciler.report.outcome import Status
from reconciler.testing.pvesim import PveSim

from .helpers import change, make_applier, make_client, make_spec, observe_one

DATA = MountPoint(0, "/data", volume=Volume("local-lvm", 4 * GIB), backup=True)
SCRATCH = MountPoint(1, "/scratch", volume=Volume("local-lvm", 2 * GIB))
ETH0 = NetworkInterface(0, "eth0", "vmbr0", ip="192.168.4.31/24", gateway="192.168.4.1")
ETH1 = NetworkInterface(1, "eth1", "vmbr0", ip="dhcp", vlan=40)


def _created(pvesim: PveSim) -> tuple[PveClient, ContainerSpec, dict[str, Any]]:
    """A running CT with mp0 (backup=1), mp1 and two NICs, made by the applier."""
    client = make_client(pvesim)
    spec = make_spec(mountpoints=(DATA, SCRATCH), network=(ETH0, ETH1))
    outcome = make_applier(client, spec).apply(change(Action.CREATE, spec))
    assert outcome.status is Status.APPLIED
    return client, spec, _config(client, spec)


def _config(client: PveClient, spec: ContainerSpec) -> dict[str, Any]:
    raw = client.get(f"nodes/pve/lxc/{spec.vmid}/config")
    assert isinstance(raw, dict)
    return raw


def _plan(client: PveClient, spec: ContainerSpec, options: PlanOptions) -> tuple[Change, ...]:
    inventory = observe_containers(client, [spec])
    return plan_containers((spec,), inventory.guests, inventory.observed, options)


def _edited(spec: ContainerSpec, **fields: Any) -> ContainerSpec:
    """mp0 out of backups, mp1 dropped, eth0 re-addressed, eth1 dropped but ignored."""
    settings = replace(
        spec.settings,
        mountpoints=(replace(DATA, backup=False),),
        network=(replace(ETH0, ip="192.168.4.32/24"),),
    )
    return replace(spec, settings=settings, ignore=("network[1]",), **fields)


def test_refused_mount_removal_and_ignored_nic_survive_the_update(pvesim: PveSim) -> None:
    client, spec, before = _created(pvesim)
    wanted = _edited(spec)
    lines = _plan(client, wanted, PlanOptions(allow_destructive=False))
    assert [line.action for line in lines] == [Action.REFUSE, Action.UPDATE]
    refuse, update = lines
    assert {f.path for f in refuse.fields} >= {"mountpoints[1].path", "mountpoints[1].size"}
    assert "needs allowDestructive: true in the spec and --allow-destructive" in refuse.reason
    assert [f.path for f in update.fields] == ["mountpoints[0].backup", "network[0].ip"]

    applier = make_applier(client, wanted)
    for line in lines:
        if line.action.executes:
            assert applier.apply(line).status is Status.APPLIED

    after = _config(client, spec)
    assert after["mp1"] == before["mp1"]  # the refused removal was not executed
    assert after["net1"] == before["net1"]  # the ignored NIC is untouched
    assert "backup=0" in after["mp0"] and "vm-107-disk-1" in after["mp0"]
    assert "ip=192.168.4.32/24" in after["net0"] and "hwaddr=" in after["net0"]
    puts = [r for r in pvesim.requests() if r.method == "PUT" and r.path.endswith("/config")]
    assert puts and all("delete" not in r.params for r in puts)
    # the refusal stays; nothing else is left to do
    again = _plan(client, wanted, PlanOptions())
    assert [line.action for line in again] == [Action.REFUSE], again


@pytest.mark.parametrize(("in_spec", "on_cli"), [(False, True), (True, False)])
def test_one_opt_in_alone_keeps_the_mount_point(
    pvesim: PveSim, in_spec: bool, on_cli: bool
) -> None:
    client, spec, before = _created(pvesim)
    wanted = _edited(spec, allow_destructive=in_spec)
    lines = _plan(client, wanted, PlanOptions(allow_destructive=on_cli))
    assert [line.action for line in lines] == [Action.REFUSE, Action.UPDATE]
    missing = "--allow-destructive" if in_spec else "allowDestructive: true in the spec"
    assert f"(needs {missing})" in lines[0].reason
    make_applier(client, wanted).apply(lines[1])
    assert _config(client, spec)["mp1"] == before["mp1"]


def test_both_opt_ins_detach_the_volume_at_restart(pvesim: PveSim) -> None:
    client, spec, before = _created(pvesim)
    wanted = _edited(spec, allow_destructive=True, restart=RestartMode.AUTO)
    lines = _plan(client, wanted, PlanOptions(allow_destructive=True))
    assert [line.action for line in lines] == [Action.UPDATE, Action.RESTART]
    restart = lines[1]
    assert dict(restart.options) == {"allow_destructive": True}
    assert "DESTRUCTIVE, allowed" in restart.reason
    applier = make_applier(client, wanted)
    for line in lines:
        assert applier.apply(line).status is Status.APPLIED
    after = _config(client, spec)
    assert "mp1" not in after
    assert after["net1"] == before["net1"]
    volume = before["mp1"].split(",")[0]
    assert volume in after.values()  # PVE keeps the detached volume as unusedN
    assert _plan(client, wanted, PlanOptions(allow_destructive=True)) == ()


def test_applier_refuses_a_volume_removal_the_line_does_not_allow(pvesim: PveSim) -> None:
    """A hand-made line without the destructive option: the last guard stops the PUT."""
    client, spec, before = _created(pvesim)
    wanted = _edited(spec, allow_destructive=True)
    digest = observe_one(client, spec).digest
    line = change(
        Action.UPDATE,
        wanted,
        FieldChange("mountpoints[1].path", "/scratch", None),
        FieldChange("mountpoints[1].size", "2GiB", None),
        digest=digest,
    )
    with pytest.raises(PermanentError, match="mp1 detaches a volume"):
        make_applier(client, wanted).apply(line)
    assert _config(client, spec)["mp1"] == before["mp1"]
