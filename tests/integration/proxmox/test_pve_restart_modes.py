"""`restart: auto|window|manual` through the engine on the simulator: who reboots, and when."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.deps import Deps
from reconciler.engine import RunOptions, apply_plan, make_full_plan
from reconciler.model.containers import ContainerSpec, RestartMode
from reconciler.model.desired import Desired
from reconciler.model.windows import Window
from reconciler.plan.change import Action
from reconciler.providers.proxmox.client import PveClient
from reconciler.providers.proxmox.observe import observe_containers
from reconciler.settings import Settings
from reconciler.testing.pvesim import PveSim

from .helpers import make_applier, make_client, make_spec

NIGHT = Window("0 3 * * *", 2 * 3600, "UTC")
INSIDE = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)
OUTSIDE = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)


def _cycle(
    client: PveClient, tmp: Path, spec: ContainerSpec, now: datetime, **opts: Any
) -> list[tuple[str, str]]:
    """One applying cycle; returns (action, reason) of the planned container lines."""
    deps = Deps(
        observe_containers=lambda specs: observe_containers(client, specs),
        appliers=lambda desired, plan: (make_applier(client, *desired.containers),),
        clock=lambda: now,
    )
    settings = Settings(config_file=None, specs=tmp, state_dir=tmp)
    options = RunOptions(apply=True, **opts)
    planned = make_full_plan(settings, Desired(containers=(spec,)), options, deps)
    report = apply_plan(settings, planned, options, deps)
    assert not report.failed, report
    return [(c.action.value, c.reason) for c in planned.plan.changes]


def _guest(sim: PveSim, vmid: int) -> dict[str, Any]:
    return next(g for g in sim.state()["guests"] if int(g["vmid"]) == vmid)


def _reboots(sim: PveSim, vmid: int) -> int:
    return sum(1 for t in sim.state()["tasks"] if t["type"] == "vzreboot" and t["id"] == str(vmid))


def _created(sim: PveSim, tmp: Path, **fields: Any) -> tuple[PveClient, ContainerSpec]:
    client = make_client(sim)
    spec = replace(make_spec("kafka", 109), **fields)
    _cycle(client, tmp, spec, OUTSIDE)
    return client, spec


def _domain(spec: ContainerSpec) -> ContainerSpec:
    return replace(spec, settings=replace(spec.settings, searchdomain="lake.example"))


def test_manual_sets_the_value_pending_and_never_reboots(pvesim: PveSim, tmp_path: Path) -> None:
    client, spec = _created(pvesim, tmp_path)  # no restart field: manual
    started = _guest(pvesim, 109)["started_at"]
    lines = _cycle(client, tmp_path, _domain(spec), OUTSIDE)
    assert [a for a, _ in lines] == ["update", "deferred"]
    assert "reconcile apply --allow-restart --target container/kafka" in lines[1][1]
    guest = _guest(pvesim, 109)
    assert guest["pending"].get("searchdomain") == "lake.example"  # set, waiting for a reboot
    assert guest["started_at"] == started and guest["status"] == "running"
    assert _reboots(pvesim, 109) == 0
    again = _cycle(client, tmp_path, _domain(spec), OUTSIDE)  # next cycle: only the note
    assert [a for a, _ in again] == ["deferred"]
    assert _reboots(pvesim, 109) == 0
    # `apply --allow-restart --target container/kafka`: the reboot applies the value
    forced = _cycle(client, tmp_path, _domain(spec), OUTSIDE, allow_restart=True)
    assert [a for a, _ in forced] == ["restart"]
    assert _reboots(pvesim, 109) == 1
    assert _guest(pvesim, 109)["pending"] == {}
    assert _guest(pvesim, 109)["config"]["searchdomain"] == "lake.example"


def test_window_defers_outside_and_reboots_inside(pvesim: PveSim, tmp_path: Path) -> None:
    client, spec = _created(pvesim, tmp_path, restart=RestartMode.WINDOW, restart_window=NIGHT)
    lines = _cycle(client, tmp_path, _domain(spec), OUTSIDE)
    assert [a for a, _ in lines] == ["update", "deferred"]
    assert "next window starts 2026-12-03T03:00:00+00:00" in lines[1][1]
    assert _reboots(pvesim, 109) == 0
    assert _guest(pvesim, 109)["pending"].get("searchdomain") == "lake.example"
    inside = _cycle(client, tmp_path, _domain(spec), INSIDE)
    assert [a for a, _ in inside] == ["restart"]
    assert _reboots(pvesim, 109) == 1
    assert _guest(pvesim, 109)["pending"] == {}


def test_auto_reboots_at_once(pvesim: PveSim, tmp_path: Path) -> None:
    client, spec = _created(pvesim, tmp_path, restart=RestartMode.AUTO)
    lines = _cycle(client, tmp_path, _domain(spec), OUTSIDE)
    assert [a for a, _ in lines] == [Action.RESTART.value]
    assert _reboots(pvesim, 109) == 1


def test_drift_timer_cycle_obeys_the_window(pvesim: PveSim, tmp_path: Path) -> None:
    client, spec = _created(pvesim, tmp_path, restart=RestartMode.WINDOW, restart_window=NIGHT)
    # drift on PVE: someone changed the search domain by hand (PVE keeps it pending)
    client.put("nodes/pve/lxc/109/config", searchdomain="drifted.example")
    lines = _cycle(client, tmp_path, spec, OUTSIDE, drift_only=True)
    assert [a for a, _ in lines] == ["update", "deferred"]
    assert _reboots(pvesim, 109) == 0
    assert _guest(pvesim, 109)["pending"].get("searchdomain") == "gti.local"
    _cycle(client, tmp_path, spec, INSIDE, drift_only=True)
    assert _reboots(pvesim, 109) == 1
    assert _guest(pvesim, 109)["pending"] == {}
