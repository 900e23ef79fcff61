"""The operations of container plan lines, from their field changes and both sides; pure.

The differ is the only producer of container operations: every PVE key and value an
applier sends is decided here (through plan.container_fields), never at apply time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from reconciler.model.containers import ContainerSettings, ContainerSpec
from reconciler.plan.change import FieldChange, Operation
from reconciler.plan.container_encode import (
    encode_mount,
    encode_nic,
    encode_tags,
    mount_props,
    sub_value,
)
from reconciler.plan.container_fields import encode, field_for
from reconciler.plan.container_ops import (
    AttachMount,
    Create,
    DetachMount,
    PveValue,
    ResizeDisk,
    SetConfig,
    UpdateItem,
)
from reconciler.plan.pve_text import CodecError

_ITEM = re.compile(r"^(mountpoints|network)\[(\d+)\]\.\w+$")
_DISK = re.compile(r"^(rootfs|mountpoints\[(\d+)\])\.size$")


def create_operation(spec: ContainerSpec, node: str, start: bool) -> Create:
    """POST /nodes/{node}/lxc parameters; the tags carry OWNER_TAG and CREATE_PENDING_TAG
    so a crash mid-create leaves a CT we recognise and adopt instead of duplicating."""
    if not node:
        raise CodecError(f"{spec.address}: no node to create on")
    settings = spec.settings
    params: dict[str, PveValue] = {"vmid": spec.vmid, "ostemplate": spec.template, "start": 0}
    for key, value in encode(settings).items():
        if value is not None:
            params[key] = value
    params["tags"] = encode_tags(settings.tags, pending=True)
    if spec.ssh_public_keys:
        params["ssh-public-keys"] = "\n".join(spec.ssh_public_keys)
    return Create(spec.vmid, tuple(params.items()), encode_tags(settings.tags), start)


def config_operations(
    fields: Iterable[FieldChange], desired: ContainerSettings, actual: ContainerSettings
) -> tuple[Operation, ...]:
    """The PUT /config of one update or restart line: only the keys its fields name."""
    values: dict[str, PveValue] = {}
    delete: set[str] = set()
    items: dict[str, tuple[dict[str, PveValue], set[str]]] = {}
    attach: dict[str, str] = {}
    detach: set[str] = set()
    for field in fields:
        found = field_for(field.path)
        if found is None:
            raise CodecError(f"no PVE config key for field path {field.path!r}")
        entry, item = found
        if entry.attr == "rootfs":
            continue  # a root disk grows through /resize; `rootfs=` in a PUT would allocate one
        match = _ITEM.fullmatch(field.path)
        if item is None or match is None:
            if field.path == "tags" and isinstance(field.after, list):
                value: PveValue | None = encode_tags(tuple(str(t) for t in field.after))
            else:
                value = entry.encode(getattr(desired, entry.attr))[entry.pve_key]
            if value is None:
                delete.add(entry.pve_key)
            else:
                values[entry.pve_key] = value
            continue
        index = int(match.group(2))
        key = f"{entry.pve_key}{index}"
        if match.group(1) == "network":
            want_nic = {n.index: n for n in desired.network}.get(index)
            have_nic = {n.index: n for n in actual.network}.get(index)
            if want_nic is None:
                delete.add(key)
            elif have_nic is None:
                values[key] = encode_nic(want_nic)
            else:
                _sub(items, key, item.pve, sub_value(getattr(want_nic, item.attr)))
            continue
        want_mp = {m.id: m for m in desired.mountpoints}.get(index)
        have_mp = {m.id: m for m in actual.mountpoints}.get(index)
        if want_mp is None:
            detach.add(key)
        elif have_mp is None:
            attach[key] = encode_mount(want_mp)
        elif item.path == "hostPath" and want_mp.host_path is not None:
            _sub(items, key, "volume", want_mp.host_path)
        elif item.pve in ("mp", "backup", "ro"):
            _sub(items, key, item.pve, mount_props(want_mp)[item.pve])
        # storage and size of an existing mount point: refused or resized, never PUT
    ops: list[Operation] = []
    if values or delete:
        ops.append(SetConfig(tuple(sorted(values.items())), tuple(sorted(delete))))
    for key, (sets, unset) in sorted(items.items()):
        ops.append(UpdateItem(key, tuple(sorted(sets.items())), tuple(sorted(unset))))
    ops += [AttachMount(key, value) for key, value in sorted(attach.items())]
    ops += [DetachMount(key) for key in sorted(detach)]
    return tuple(ops)


def _sub(
    items: dict[str, tuple[dict[str, PveValue], set[str]]],
    key: str,
    sub: str,
    value: PveValue | None,
) -> None:
    sets, unset = items.setdefault(key, ({}, set()))
    if value is None:
        unset.add(sub)
    else:
        sets[sub] = value


def resize_operation(field: FieldChange, desired: ContainerSettings) -> ResizeDisk:
    """`rootfs.size` / `mountpoints[N].size` -> grow that disk to the spec's size."""
    match = _DISK.fullmatch(field.path)
    if match is None:
        raise CodecError(f"{field.path} is not a disk size")
    if match.group(2) is None:
        if desired.rootfs is None:
            raise CodecError("rootfs.size without a rootfs in the spec")
        return ResizeDisk("rootfs", desired.rootfs.size_bytes)
    mp_id = int(match.group(2))
    for mount in desired.mountpoints:
        if mount.id == mp_id and mount.volume is not None:
            return ResizeDisk(f"mp{mp_id}", mount.volume.size_bytes)
    raise CodecError(f"{field.path}: mount point {mp_id} has no volume in the spec")
