"""The differ puts the PVE operations on every executable container line; they survive a
saved plan (to_dict -> DECODERS) unchanged."""

from __future__ import annotations

from dataclasses import replace

from reconciler.diff import PlanOptions
from reconciler.diff.containers import diff_container
from reconciler.model.containers import (
    OWNER_TAG,
    ContainerSettings,
    ContainerSpec,
    GuestSummary,
    MountPoint,
    NetworkInterface,
    ObservedContainer,
    PowerState,
    RestartMode,
    Volume,
)
from reconciler.model.units import GIB
from reconciler.plan.change import Action, Change
from reconciler.plan.container_ops import (
    AttachMount,
    Create,
    DetachMount,
    Power,
    ResizeDisk,
    SetConfig,
    UpdateItem,
)
from reconciler.plan.operations import decode_operations, encode_operations

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
ETH0 = NetworkInterface(0, "eth0", "vmbr0", ip="10.0.0.2/24", hwaddr="BC:24:11:00:00:01")
DATA = MountPoint(0, "/data", volume=Volume("local-lvm", 10 * GIB), backup=True)
SCRATCH = MountPoint(1, "/scratch", volume=Volume("local-lvm", 2 * GIB))
HAVE = ContainerSettings(
    hostname="minio",
    memory_mib=1024,
    rootfs=Volume("local-lvm", 8 * GIB),
    mountpoints=(DATA, SCRATCH),
    network=(ETH0,),
    tags=("datalake", OWNER_TAG),
    ostype="debian",
)
OPTIONS = PlanOptions(default_node="pve")


def _spec(settings: ContainerSettings, **kw: object) -> ContainerSpec:
    return ContainerSpec("minio", 107, "pve", TEMPLATE, settings, **kw)  # type: ignore[arg-type]


def _lines(spec: ContainerSpec, have: ContainerSettings = HAVE, **kw: object) -> list[Change]:
    observed = ObservedContainer(107, "pve", PowerState.RUNNING, have, "d" * 40, **kw)  # type: ignore[arg-type]
    guest = GuestSummary(107, "pve", "lxc", "minio", "running", have.tags)
    return list(diff_container(spec, observed, guest, OPTIONS))


def _round_trip(change: Change) -> None:
    docs = encode_operations(change.operations)
    assert decode_operations(docs, change.address) == change.operations


def test_create_carries_the_post_parameters_and_the_final_tags() -> None:
    want = replace(HAVE, network=(replace(ETH0, hwaddr=None),))
    (line,) = diff_container(_spec(want), None, None, OPTIONS)
    (op,) = line.operations
    assert isinstance(op, Create) and op.vmid == 107 and op.start
    params = dict(op.params)
    assert params["ostemplate"] == TEMPLATE and params["memory"] == 1024
    assert params["net0"] == "name=eth0,bridge=vmbr0,firewall=0,ip=10.0.0.2/24,type=veth"
    assert params["mp1"] == "local-lvm:2,mp=/scratch"
    assert "reconciler-create-pending" in str(params["tags"])
    assert op.tags == f"datalake;{OWNER_TAG}"
    _round_trip(line)


def test_live_update_names_only_the_changed_keys_and_sub_keys() -> None:
    nic = replace(ETH0, ip="10.0.0.3/24", firewall=True)
    want = replace(HAVE, memory_mib=2048, cores=None, network=(nic,), tags=("datalake",))
    (line,) = _lines(_spec(want))
    assert line.action is Action.UPDATE
    assert line.operations == (
        SetConfig((("memory", 2048),)),
        UpdateItem("net0", (("firewall", 1), ("ip", "10.0.0.3/24"))),
    )
    _round_trip(line)


def test_mount_points_attach_detach_and_resize() -> None:
    logs = MountPoint(5, "/logs", volume=Volume("local-lvm", 1 * GIB))
    bigger = replace(DATA, volume=Volume("local-lvm", 20 * GIB), backup=False)
    want = replace(HAVE, mountpoints=(bigger, logs))
    spec = _spec(want, allow_destructive=True)
    options = replace(OPTIONS, allow_destructive=True)
    observed = ObservedContainer(107, "pve", PowerState.STOPPED, HAVE, "d" * 40)
    guest = GuestSummary(107, "pve", "lxc", "minio", "stopped", HAVE.tags)
    lines = [c for c in diff_container(spec, observed, guest, options) if c.operations]
    update = next(c for c in lines if c.action is Action.UPDATE)
    assert update.operations == (
        UpdateItem("mp0", (("backup", 0),)),
        AttachMount("mp5", "local-lvm:1,mp=/logs,backup=0"),
        DetachMount("mp1"),
    )
    assert dict(update.options).get("allow_destructive") is True
    resize = next(c for c in lines if c.action is Action.RESIZE)
    assert resize.operations == (ResizeDisk("mp0", 20 * GIB),)
    start = next(c for c in lines if c.action is Action.START)
    assert start.operations == (Power("start"),)
    for line in lines:
        _round_trip(line)


def test_restart_line_writes_the_pending_keys_then_reboots() -> None:
    want = replace(HAVE, searchdomain="lake.local")
    (line,) = _lines(_spec(want, restart=RestartMode.AUTO))
    assert line.action is Action.RESTART
    assert line.operations == (SetConfig((("searchdomain", "lake.local"),)), Power("reboot"))
    _round_trip(line)


def test_report_only_lines_carry_no_operations() -> None:
    want = replace(HAVE, rootfs=Volume("local-lvm", 4 * GIB), unprivileged=False)
    lines = _lines(_spec(want))
    assert lines and all(c.action is Action.REFUSE for c in lines)
    assert all(c.operations == () for c in lines)
