"""Builders shared by the Proxmox provider's integration tests (simulator over HTTPS)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reconciler.diff.container_writes import (
    config_operations,
    create_operation,
    resize_operation,
)
from reconciler.diff.normalize import normalize_settings
from reconciler.model.containers import (
    OWNER_TAG,
    ContainerSettings,
    ContainerSpec,
    Features,
    MountPoint,
    NetworkInterface,
    ObservedContainer,
    PowerState,
    Volume,
)
from reconciler.model.units import GIB
from reconciler.plan.change import Action, Change, FieldChange, JSONScalar, Operation
from reconciler.plan.container_ops import Delete, Power
from reconciler.providers.proxmox.client import PveClient, build_client
from reconciler.providers.proxmox.observe import observe_containers
from reconciler.providers.proxmox.writer import ProxmoxApplier
from reconciler.settings import ApplySettings, ProxmoxSettings
from reconciler.testing.pvesim import PveSim

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


def make_client(sim: PveSim) -> PveClient:
    settings = ProxmoxSettings(
        host=sim.host,
        port=sim.port,
        user=sim.token_user,
        token_name=sim.token_name,
        verify_ssl=sim.ca_file,
        timeout=30,
    )
    return build_client(settings, env={"PVE_TOKEN_SECRET": sim.token_secret})


def make_spec(name: str = "minio", vmid: int = 107, **overrides: Any) -> ContainerSpec:
    state = overrides.pop("state", PowerState.RUNNING)
    settings = ContainerSettings(
        hostname=name,
        memory_mib=1024,
        swap_mib=256,
        cores=2,
        description=f"{name} for the lake",
        rootfs=Volume("local-lvm", 8 * GIB),
        mountpoints=(MountPoint(0, "/data", volume=Volume("local-lvm", 4 * GIB), backup=True),),
        network=(
            NetworkInterface(0, "eth0", "vmbr0", ip="192.168.4.31/24", gateway="192.168.4.1"),
        ),
        nameservers=("192.168.4.1",),
        searchdomain="gti.local",
        features=Features(nesting=True),
        on_boot=True,
        tags=("datalake", OWNER_TAG),
        unprivileged=True,
    )
    settings = replace(settings, **overrides)
    return ContainerSpec(name, vmid, "pve", TEMPLATE, settings, state=state)


def make_applier(client: PveClient, *specs: ContainerSpec, retries: int = 4) -> ProxmoxApplier:
    """An applier that sees operations only: `specs` never reach it (call sites name them
    for the reader)."""
    del specs
    settings = ApplySettings(retries=retries, task_timeout=30)
    return ProxmoxApplier(client, settings, backoff_base=0.01, poll_interval=0.01)


def change(
    action: Action,
    spec: ContainerSpec,
    *fields: FieldChange,
    digest: str | None = None,
    node: str = "pve",
    actual: ContainerSettings | None = None,
) -> Change:
    pre: list[tuple[str, JSONScalar]] = []
    if digest is not None:
        pre.append(("digest", digest))
    pre += [("vmid", spec.vmid), ("node", node)]
    ops = operations_for(action, spec, fields, node, actual)
    return Change(spec.address, action, "test", tuple(fields), (), tuple(pre), (), ops)


def operations_for(
    action: Action,
    spec: ContainerSpec,
    fields: tuple[FieldChange, ...],
    node: str = "pve",
    actual: ContainerSettings | None = None,
) -> tuple[Operation, ...]:
    """The operations the differ would put on this hand-built line (built here, in the test:
    the applier only ever sees them)."""
    desired = normalize_settings(spec.settings, desired=True)
    have = normalize_settings(actual, desired=False) if actual is not None else desired
    if action is Action.CREATE:
        return (create_operation(spec, node, spec.state == PowerState.RUNNING),)
    if action in (Action.START, Action.STOP):
        return (Power("start" if action is Action.START else "stop"),)
    if action is Action.DELETE:
        return (Delete(spec.vmid),)
    if action is Action.RESIZE:
        return tuple(resize_operation(f, desired) for f in fields)
    ops = config_operations(fields, desired, have)
    return (*ops, Power("reboot")) if action is Action.RESTART else ops


def observe_one(client: PveClient, spec: ContainerSpec) -> ObservedContainer:
    inventory = observe_containers(client, [spec])
    return inventory.observed[spec.vmid]
