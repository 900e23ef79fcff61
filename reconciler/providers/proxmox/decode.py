"""PVE LXC payloads -> model values (config, pending rows, resources); pure, no I/O.

Decoding only: the config keys are read through the field registry
(plan.container_fields); encoding is the differ's (diff.container_writes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reconciler.model.containers import (
    ContainerSettings,
    GuestSummary,
    ObservedContainer,
    PowerState,
)
from reconciler.plan import container_fields
from reconciler.plan.container_decode import decode_mount, decode_nic
from reconciler.plan.pve_text import (
    CodecError,
    get_str,
    normalise_tags,
    parse_bool,
    parse_int,
    parse_propstring,
    split_list,
)

__all__ = [
    "CodecError",
    "parse_config",
    "parse_guest",
    "parse_mountpoint",
    "parse_network",
    "parse_observed",
    "parse_pending",
    "volume_id",
]
parse_network = decode_nic
parse_mountpoint = decode_mount


def parse_config(config: Mapping[str, object], vmid: int | None = None) -> ContainerSettings:
    """A GET /config object (pending values applied) -> ContainerSettings. Unknown keys ignored."""
    return container_fields.decode(config, vmid)


def parse_observed(
    config: Mapping[str, object],
    *,
    vmid: int,
    node: str,
    status: str,
    pending_keys: frozenset[str] = frozenset(),
    digest: str | None = None,
) -> ObservedContainer:
    """Config + the resources row's node/status -> ObservedContainer."""
    found = digest if digest is not None else get_str(config, "digest")
    return ObservedContainer(
        vmid=vmid,
        node=node,
        status=PowerState.RUNNING if status == "running" else PowerState.STOPPED,
        settings=parse_config(config, vmid),
        digest=found or "",
        lock=get_str(config, "lock"),
        pending_keys=pending_keys,
        template=parse_bool(config.get("template")),
    )


def parse_pending(
    rows: Iterable[Mapping[str, object]],
) -> tuple[dict[str, object], frozenset[str], str | None]:
    """GET /pending rows -> (config with pending applied, pending keys, digest or None).

    A row is `{key, value?, pending?, delete?}`; `delete` 1/2 means the key goes
    away at the next restart, so the applied view leaves it out.
    """
    applied: dict[str, object] = {}
    pending: set[str] = set()
    digest: str | None = None
    for row in rows:
        key = str(row["key"])
        if key == "digest":
            digest = get_str(row, "value")
            continue
        if parse_int(row.get("delete", 0)):
            pending.add(key)
            continue
        if row.get("pending") is not None:
            pending.add(key)
            applied[key] = row["pending"]
        elif row.get("value") is not None:
            applied[key] = row["value"]
    return applied, frozenset(pending), digest


def parse_guest(row: Mapping[str, object]) -> GuestSummary:
    """One `/cluster/resources?type=vm` row -> GuestSummary."""
    return GuestSummary(
        vmid=parse_int(row["vmid"]),
        node=str(row["node"]),
        kind=str(row.get("type", "")),
        name=str(row.get("name") or ""),
        status=str(row.get("status") or "unknown"),
        tags=normalise_tags(split_list(row.get("tags"))),
        lock=get_str(row, "lock") or None,
    )


def volume_id(text: str) -> str:
    """The volume part of a rootfs/mpN value (`local-lvm:vm-107-disk-1`)."""
    return parse_propstring(text, default_key="volume").get("volume", "")
