"""Concurrent operators at the provider (issue 14, item 6), against the simulator over HTTPS:
a CT another run created carries our tag and is ours; `already running` is success."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reconciler.apply.errors import PermanentError
from reconciler.apply.retry import RetryPolicy
from reconciler.model.containers import CREATE_PENDING_TAG, OWNER_TAG
from reconciler.plan.container_ops import Create
from reconciler.providers.proxmox.client import PveClient
from reconciler.providers.proxmox.concurrent import ALREADY_RUNNING, created_message, power
from reconciler.providers.proxmox.create import Creator
from reconciler.providers.proxmox.tasks import TaskWaiter
from reconciler.testing.pvesim import PveSim
from tests.integration.proxmox.helpers import TEMPLATE, make_client

PARAMS = (
    ("vmid", 107),
    ("hostname", "minio"),
    ("ostemplate", TEMPLATE),
    ("rootfs", "local-lvm:8"),
    ("memory", 1024),
)


def _create(vmid: int, tags: str, start: bool) -> Create:
    params = tuple((k, vmid if k == "vmid" else v) for k, v in PARAMS)
    pending = f"{tags};{CREATE_PENDING_TAG}"
    return Create(vmid, (*params, ("tags", pending)), tags, start)


def _creator(client: PveClient) -> Creator:
    waiter = TaskWaiter(client, timeout=30, first_interval=0.02, max_interval=0.1)
    return Creator(client, waiter, RetryPolicy(attempts=3, scale=0.01), poll=0.02)


def _other_run_creates(client: PveClient, vmid: int, tags: str, start: bool) -> None:
    """What another reconciler (its own state directory) did to PVE before us."""
    waiter = TaskWaiter(client, timeout=30, first_interval=0.02)
    op = _create(vmid, tags, start)
    waiter.wait(str(client.post("nodes/pve/lxc", **dict(op.params))))
    client.put(f"nodes/pve/lxc/{vmid}/config", tags=tags)
    if start:
        waiter.wait(str(client.post(f"nodes/pve/lxc/{vmid}/status/start")))


@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
def test_a_ct_another_run_created_is_ours_and_reported_truly(pvesim: PveSim, running: bool) -> None:
    client = make_client(pvesim)
    tags = f"datalake;{OWNER_TAG}"
    _other_run_creates(client, 107, tags, start=running)
    digest = client.get("nodes/pve/lxc/107/config")["digest"]

    created = _creator(client).create(_create(107, tags, start=True), "pve")

    assert (created.adopted, created.elsewhere, created.started) == (True, True, not running)
    message = created_message(
        107, created.node, adopted=True, elsewhere=True, started=created.started
    )
    assert message.startswith(f"CT 107 on pve was created by another run (it carries {OWNER_TAG})")
    config = client.get("nodes/pve/lxc/107/config")
    assert CREATE_PENDING_TAG not in str(config["tags"])
    assert config["digest"] == digest  # the other run's config is left as it was: no write
    assert client.get("nodes/pve/lxc/107/status/current")["status"] == "running"
    assert len([g for g in client.get("cluster/resources", type="vm") if g["vmid"] == 107]) == 1


def test_a_ct_without_our_tag_under_the_vmid_is_refused_with_the_true_reason(
    pvesim: PveSim,
) -> None:
    client = make_client(pvesim)
    _other_run_creates(client, 107, "datalake", start=False)
    with pytest.raises(PermanentError) as refused:
        _creator(client).create(_create(107, f"datalake;{OWNER_TAG}", start=True), "pve")
    assert str(refused.value) == (
        f"vmid 107 is taken by a CT 'minio' on pve that does not carry {OWNER_TAG}; not adopting it"
    )


def test_a_start_task_answering_already_running_is_success(
    pvesim_factory: Callable[..., PveSim],
) -> None:
    sim = pvesim_factory(task_seconds=0.5)
    client = make_client(sim)
    _other_run_creates(client, 108, f"datalake;{OWNER_TAG}", start=False)
    waiter = TaskWaiter(client, timeout=30, first_interval=0.02, max_interval=0.1)
    # Another operator's start is in flight: ours is accepted (the CT is still stopped), and
    # its task then ends `CT 108 already running`, the state we wanted.
    theirs = str(client.post("nodes/pve/lxc/108/status/start"))
    assert power(client, waiter, "nodes/pve/lxc/108/status/start", ALREADY_RUNNING) is True
    waiter.wait(theirs)
    assert client.get("nodes/pve/lxc/108/status/current")["status"] == "running"
    # ...and synchronously once it runs; anything else still fails.
    assert power(client, waiter, "nodes/pve/lxc/108/status/start", ALREADY_RUNNING) is True
    with pytest.raises(PermanentError, match="does not exist"):
        power(client, waiter, "nodes/pve/lxc/999/status/start", ALREADY_RUNNING)
