"""ProxmoxApplier against the simulator over HTTPS, with hand-built plan Changes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.apply.errors import PermanentError, PreconditionFailed
from reconciler.diff.container_writes import create_operation
from reconciler.model.containers import (
    CREATE_PENDING_TAG,
    OWNER_TAG,
    ContainerSpec,
    Features,
    PowerState,
    Volume,
)
from reconciler.model.units import GIB
from reconciler.plan.change import Action, FieldChange
from reconciler.providers.proxmox.client import PveClient
from reconciler.report.outcome import Status
from reconciler.testing.pvesim import PveSim

from .helpers import change, make_applier, make_client, make_spec, observe_one


def test_create_converges_to_the_spec_and_starts(pvesim: PveSim) -> None:
    client = make_client(pvesim)
    spec = make_spec()
    outcome = make_applier(client, spec).apply(change(Action.CREATE, spec))
    assert outcome.status is Status.APPLIED
    assert dict(outcome.result) == {"vmid": 107, "node": "pve"}

    observed = observe_one(client, spec)
    assert observed.status is PowerState.RUNNING
    assert observed.settings.tags == ("datalake", OWNER_TAG)  # pending tag cleared
    generated = observed.settings.network[0].hwaddr
    expected = replace(
        spec.settings,
        network=(replace(spec.settings.network[0], hwaddr=generated),),
        ostype=observed.settings.ostype,
    )
    assert observed.settings == expected
    posts = [r for r in pvesim.requests() if r.method == "POST" and r.path == "/nodes/pve/lxc"]
    assert len(posts) == 1
    assert CREATE_PENDING_TAG in posts[0].params["tags"]  # intent marked before the POST


def test_create_stopped_spec_is_not_started(pvesim: PveSim) -> None:
    client = make_client(pvesim)
    spec = make_spec(state=PowerState.STOPPED)
    make_applier(client, spec).apply(change(Action.CREATE, spec))
    assert observe_one(client, spec).status is PowerState.STOPPED


def _created(pvesim: PveSim, **overrides: Any) -> tuple[PveClient, ContainerSpec]:
    client = make_client(pvesim)
    spec = make_spec(**overrides)
    make_applier(client, spec).apply(change(Action.CREATE, spec))
    return client, spec


def test_update_restart_and_resize_in_one_plan_share_the_plan_digest(pvesim: PveSim) -> None:
    client, spec = _created(pvesim)
    before = observe_one(client, spec)
    wanted = replace(
        spec.settings,
        memory_mib=2048,
        searchdomain="lake.local",
        rootfs=Volume("local-lvm", 12 * GIB),
        features=Features(nesting=False),
    )
    new = replace(spec, settings=wanted)
    applier = make_applier(client, new)
    digest = before.digest
    update = change(Action.UPDATE, new, FieldChange("memory", 1024, 2048), digest=digest)
    resize = change(Action.RESIZE, new, FieldChange("rootfs.size", "8GiB", "12GiB"), digest=digest)
    restart = change(
        Action.RESTART,
        new,
        FieldChange("dns.domain", "gti.local", "lake.local"),
        FieldChange("features.nesting", True, False),
        digest=digest,
    )
    for line in (update, resize, restart):
        assert applier.apply(line).status is Status.APPLIED

    after = observe_one(client, new)
    assert after.settings.memory_mib == 2048
    assert after.settings.searchdomain == "lake.local"
    assert after.settings.features == Features()
    assert after.settings.rootfs == Volume("local-lvm", 12 * GIB)
    assert after.pending_keys == frozenset()  # the reboot applied them
    assert after.status is PowerState.RUNNING
    puts = [r for r in pvesim.requests() if r.method == "PUT" and r.path.endswith("/config")]
    assert puts[-1].params == {
        "digest": puts[-1].params["digest"],
        "searchdomain": "lake.local",
        "delete": "features",
    }
    memory_put = next(r for r in puts if "memory" in r.params)
    assert set(memory_put.params) == {"memory", "digest"}  # only the changed key
    assert any(r.path.endswith("/status/reboot") for r in pvesim.requests())


def test_stale_digest_is_precondition_failed_and_nothing_is_written(pvesim: PveSim) -> None:
    client, spec = _created(pvesim)
    digest = observe_one(client, spec).digest
    pvesim.api().nodes("pve").lxc(107).config.put(description="changed by a human")
    new = replace(spec, settings=replace(spec.settings, memory_mib=4096))
    applier = make_applier(client, new)
    with pytest.raises(PreconditionFailed):
        applier.apply(change(Action.UPDATE, new, FieldChange("memory", 1024, 4096), digest=digest))
    assert observe_one(client, new).settings.memory_mib == 1024


def test_stop_start_and_delete(pvesim: PveSim) -> None:
    client, spec = _created(pvesim)
    applier = make_applier(client, spec)
    applier.apply(change(Action.STOP, spec))
    assert observe_one(client, spec).status is PowerState.STOPPED
    applier.apply(change(Action.STOP, spec))  # idempotent
    applier.apply(change(Action.START, spec))
    assert observe_one(client, spec).status is PowerState.RUNNING
    digest = observe_one(client, spec).digest
    outcome = applier.apply(change(Action.DELETE, spec, digest=digest))
    assert outcome.status is Status.APPLIED
    assert [g["vmid"] for g in pvesim.api().cluster.resources.get(type="vm")] == []


def test_delete_refuses_a_protected_ct(pvesim: PveSim) -> None:
    client, spec = _created(pvesim, protection=True)
    digest = observe_one(client, spec).digest
    with pytest.raises(PermanentError):
        make_applier(client, spec).apply(change(Action.DELETE, spec, digest=digest))
    assert observe_one(client, spec).status is PowerState.RUNNING


def test_create_adopts_a_ct_left_by_a_crash_instead_of_duplicating(pvesim: PveSim) -> None:
    client = make_client(pvesim)
    spec = make_spec()
    # A previous run crashed right after its POST: the CT exists with our pending tag.
    upid = pvesim.api().nodes("pve").lxc.post(**_post_params(spec))
    assert upid
    pvesim.clear_requests()
    outcome = make_applier(client, spec).apply(change(Action.CREATE, spec))
    assert "adopted" in outcome.message
    assert not [r for r in pvesim.requests() if r.method == "POST" and r.path == "/nodes/pve/lxc"][
        1:
    ]
    observed = observe_one(client, spec)
    assert observed.settings.tags == ("datalake", OWNER_TAG)
    assert observed.status is PowerState.RUNNING


def test_create_refuses_a_vmid_taken_by_someone_else(pvesim: PveSim) -> None:
    client = make_client(pvesim)
    spec = make_spec()
    params = dict(_post_params(spec), tags="theirs")
    pvesim.api().nodes("pve").lxc.post(**params)
    with pytest.raises(PermanentError):
        make_applier(client, spec).apply(change(Action.CREATE, spec))


def test_create_waits_for_a_running_create_of_ours_then_adopts_it(
    pvesim_factory: Any,
) -> None:
    """A POST that reached PVE while the client saw an error: the CT is still `lock: create`
    (no tags yet). The retry must wait for the lock, then adopt - not refuse, not duplicate."""
    sim = pvesim_factory(task_seconds=1.5)
    client = make_client(sim)
    spec = make_spec()
    sim.api().nodes("pve").lxc.post(**_post_params(spec))  # the "lost" first POST
    assert sim.api().nodes("pve").lxc(spec.vmid).config.get()["lock"] == "create"
    outcome = make_applier(client, spec).apply(change(Action.CREATE, spec))
    assert "adopted" in outcome.message
    creates = [r for r in sim.requests() if r.method == "POST" and r.path == "/nodes/pve/lxc"]
    assert [r.status for r in creates] == [200, 500]  # ours, then the refused duplicate
    assert CREATE_PENDING_TAG not in observe_one(client, spec).settings.tags


def _post_params(spec: ContainerSpec) -> dict[str, str | int]:
    """What the Create operation would POST (for a CT made behind the applier's back)."""
    return dict(create_operation(spec, "pve", start=False).params)
