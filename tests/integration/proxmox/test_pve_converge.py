"""Convergence with the real differ: plan -> apply through ProxmoxApplier -> re-plan is empty."""

from __future__ import annotations

from dataclasses import replace

from reconciler.diff.containers import plan_containers
from reconciler.diff.planner import PlanOptions
from reconciler.model.containers import ContainerSpec, RestartMode, Volume
from reconciler.model.units import GIB
from reconciler.plan.change import Action, Change
from reconciler.providers.proxmox.client import PveClient
from reconciler.providers.proxmox.observe import observe_containers
from reconciler.providers.proxmox.writer import ProxmoxApplier
from reconciler.report.outcome import Status
from reconciler.testing.pvesim import PveSim

from .helpers import make_applier, make_client, make_spec


def _plan(client: PveClient, specs: tuple[ContainerSpec, ...]) -> tuple[Change, ...]:
    inventory = observe_containers(client, specs)
    changes = plan_containers(specs, inventory.guests, inventory.observed, PlanOptions())
    return tuple(c for c in changes if c.action.executes)


def _apply(applier: ProxmoxApplier, changes: tuple[Change, ...]) -> None:
    for line in changes:
        assert applier.handles(line), line
        assert applier.apply(line).status is Status.APPLIED


def test_create_then_change_converges(pvesim: PveSim) -> None:
    client = make_client(pvesim)
    specs = (make_spec("minio", 107), make_spec("hive", 108))
    first = _plan(client, specs)
    assert [c.action for c in first] == [Action.CREATE, Action.CREATE]
    _apply(make_applier(client, *specs), first)
    assert _plan(client, specs) == ()

    minio = specs[0]
    changed = replace(
        minio,
        restart=RestartMode.AUTO,  # opts in to the reboot that applies searchdomain
        settings=replace(
            minio.settings,
            memory_mib=2048,
            searchdomain="lake.local",
            rootfs=Volume("local-lvm", 16 * GIB),
        ),
    )
    wanted = (changed, specs[1])
    second = _plan(client, wanted)
    assert {c.action for c in second} == {Action.UPDATE, Action.RESIZE, Action.RESTART}
    client.reset_calls()
    _apply(make_applier(client, *wanted), second)
    assert _plan(client, wanted) == ()
