"""Injected 500 / 596 / lock-timeout / task faults: retried where transient, reported where not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from reconciler.apply.errors import PermanentError
from reconciler.model.containers import PowerState, Volume
from reconciler.model.units import GIB
from reconciler.plan.change import Action, FieldChange
from reconciler.providers.proxmox.observe import observe_containers
from reconciler.report.outcome import Status
from reconciler.testing.pvesim import PveSim
from reconciler.testing.pvesim.faults import Faults

from .helpers import change, make_applier, make_client, make_spec, observe_one


def _statuses(sim: PveSim) -> list[int]:
    return [r.status for r in sim.requests()]


def test_lifecycle_survives_random_500s(pvesim_factory: Callable[..., PveSim]) -> None:
    sim = pvesim_factory(faults=Faults(error_rate=0.35, status=500, seed=11))
    client = make_client(sim)
    spec = make_spec()
    bigger = replace(
        spec, settings=replace(spec.settings, memory_mib=2048, rootfs=Volume("local-lvm", 10 * GIB))
    )
    applier = make_applier(client, bigger, retries=8)
    assert applier.apply(change(Action.CREATE, spec)).status is Status.APPLIED

    sim.set_faults(Faults())
    digest = observe_one(client, bigger).digest
    sim.set_faults(Faults(error_rate=0.35, status=500, seed=12))
    applier.apply(change(Action.UPDATE, bigger, FieldChange("memory", 1024, 2048), digest=digest))
    applier.apply(
        change(Action.RESIZE, bigger, FieldChange("rootfs.size", "8GiB", "10GiB"), digest=digest)
    )
    applier.apply(change(Action.STOP, bigger))
    assert 500 in _statuses(sim)  # faults were really injected

    sim.set_faults(Faults())
    observed = observe_one(client, bigger)
    assert observed.settings.memory_mib == 2048
    assert observed.settings.rootfs == Volume("local-lvm", 10 * GIB)
    assert observed.status is PowerState.STOPPED
    creates = [r for r in sim.requests() if r.method == "POST" and r.path == "/nodes/pve/lxc"]
    assert [r.status for r in creates].count(200) <= 1  # never two CTs


def test_observe_retries_596_on_reads(pvesim_factory: Callable[..., PveSim]) -> None:
    sim = pvesim_factory()
    client = make_client(sim)
    specs = [make_spec("a", 101), make_spec("b", 102), make_spec("c", 103)]
    applier = make_applier(client, *specs)
    for spec in specs:
        applier.apply(change(Action.CREATE, spec))
    sim.set_faults(Faults(error_rate=0.3, status=596, seed=5, methods=("GET",)))
    sim.clear_requests()
    inventory = observe_containers(client, specs)
    assert sorted(inventory.observed) == [101, 102, 103]
    assert 596 in _statuses(sim)


def test_lock_timeouts_are_retried(pvesim_factory: Callable[..., PveSim]) -> None:
    sim = pvesim_factory()
    client = make_client(sim)
    spec = make_spec()
    make_applier(client, spec).apply(change(Action.CREATE, spec))
    digest = observe_one(client, spec).digest
    sim.set_faults(Faults(lock_timeout_rate=0.6, seed=4, methods=("PUT",)))
    new = replace(spec, settings=replace(spec.settings, description="compacted nightly"))
    outcome = make_applier(client, new, retries=8).apply(
        change(Action.UPDATE, new, FieldChange("description", "x", "y"), digest=digest)
    )
    assert outcome.status is Status.APPLIED
    assert 500 in _statuses(sim)
    sim.set_faults(Faults())
    assert observe_one(client, new).settings.description == "compacted nightly"


def test_failed_task_is_permanent_with_its_log(pvesim_factory: Callable[..., PveSim]) -> None:
    sim = pvesim_factory(faults=Faults(task_failure_rate=1.0, methods=("POST",)))
    client = make_client(sim)
    spec = make_spec()
    with pytest.raises(PermanentError) as info:
        make_applier(client, spec).apply(change(Action.CREATE, spec))
    assert "simulated task failure" in str(info.value)
    assert "TASK ERROR" in str(info.value)  # the log tail is included
    sim.set_faults(Faults())
    assert observe_containers(client, [spec]).guests == ()  # PVE removed the failed CT
