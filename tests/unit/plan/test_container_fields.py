"""The container field registry agrees with the JSON Schema and round-trips through PVE."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from reconciler.model.containers import (
    ContainerSettings,
    Features,
    MountPoint,
    NetworkInterface,
    Startup,
    Volume,
)
from reconciler.model.units import GIB
from reconciler.plan import container_fields
from reconciler.plan.container_fields import FIELDS, MOUNT_FIELDS, NIC_FIELDS, is_live

SCHEMA = Path(container_fields.__file__).parents[1] / "schemas" / "container.schema.json"
# Spec keys that are not CT config fields (identity, lifecycle, reconciler behaviour).
NOT_SETTINGS = {
    "vmid",
    "node",
    "template",
    "state",
    "sshPublicKeys",
    "dependsOn",
    "drift",
    "ignore",
    "labels",
    "allowDestructive",
    "restart",
    "restartWindow",
    "provision",
    "readiness",
    "defaults",
}
# List item identities: the N of netN / mpN, the index in field paths.
ITEM_IDS = {"mountpoints[*].id", "network[*].id"}


def _leaves(schema: dict[str, Any], node: dict[str, Any], prefix: str) -> set[str]:
    """Spec field paths of a schema node: object properties recurse, arrays get `[*]`."""
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    if node.get("type") == "array" and "items" in node:
        items = node["items"]
        ref = items.get("$ref", "")
        target = schema["$defs"][ref.rsplit("/", 1)[-1]] if ref else items
        if target.get("type") == "object":
            return _leaves(schema, target, f"{prefix}[*]")
        return {prefix}
    if node.get("type") == "object" and "properties" in node:
        paths: set[str] = set()
        for key, sub in node["properties"].items():
            paths |= _leaves(schema, sub, f"{prefix}.{key}" if prefix else key)
        return paths
    return {prefix}


def test_registry_paths_equal_the_schema_settings() -> None:
    schema = json.loads(SCHEMA.read_text())
    spec = schema["properties"]["spec"]
    settings = {k: v for k, v in spec["properties"].items() if k not in NOT_SETTINGS}
    from_schema = _leaves(schema, {"type": "object", "properties": settings}, "") - ITEM_IDS
    registry = {p for f in FIELDS for p in f.paths}
    # ostype is computed from the template (never written in a spec)
    assert registry - {"ostype"} == from_schema, (
        sorted(registry - from_schema),
        sorted(from_schema - registry),
    )


def test_every_model_attribute_has_exactly_one_entry() -> None:
    attrs = [f.attr for f in FIELDS]
    assert len(attrs) == len(set(attrs))
    assert set(attrs) == set(ContainerSettings.__dataclass_fields__)
    nic_attrs = {f.attr for f in NIC_FIELDS} | {"index"}
    assert nic_attrs == set(NetworkInterface.__dataclass_fields__)
    mount_attrs = {f.attr for f in MOUNT_FIELDS} | {"id"}
    assert mount_attrs == set(MountPoint.__dataclass_fields__)


def test_live_or_restart_comes_from_the_entries() -> None:
    assert is_live("memory") and is_live("network[3].gateway") and is_live("tags")
    assert is_live("mountpoints[1].backup")
    assert not is_live("mountpoints[1].path") and not is_live("dns.servers")
    assert not is_live("features.nesting") and not is_live("colour")


def test_encode_then_decode_gives_the_settings_back() -> None:
    settings = ContainerSettings(
        hostname="minio",
        memory_mib=2048,
        swap_mib=256,
        cores=2,
        cpulimit=1.5,
        description="object storage",
        rootfs=Volume("local-lvm", 8 * GIB),
        network=(NetworkInterface(0, "eth0", "vmbr0", ip="10.0.0.2/24", vlan=40, mtu=9000),),
        searchdomain="lake.local",
        nameservers=("10.0.0.1", "1.1.1.1"),
        features=Features(nesting=True, mount=("nfs",)),
        on_boot=True,
        startup=Startup(order=2, up_seconds=30),
        tags=("datalake", "managed-by-reconciler"),
        protection=True,
        ostype="debian",
    )
    pve = {k: v for k, v in container_fields.encode(settings).items() if v is not None}
    # PVE reports the allocated size on the volume it made
    pve["rootfs"] = "local-lvm:vm-107-disk-0,size=8G"
    assert re.fullmatch(r"name=eth0,bridge=vmbr0,.*tag=40,type=veth", str(pve["net0"]))
    assert container_fields.decode(pve, 107) == settings
