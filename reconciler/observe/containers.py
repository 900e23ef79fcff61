"""Observe LXC containers for one plan: inventory plus the CTs we may touch; read-only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from reconciler.model.containers import ContainerSpec, GuestSummary, ObservedContainer
from reconciler.providers.proxmox.reader import Caller, ProxmoxReader

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ContainerInventory:
    """Every guest of the cluster, and the parsed config of each CT worth reading."""

    guests: tuple[GuestSummary, ...] = ()
    observed: Mapping[int, ObservedContainer] = field(default_factory=dict)


def containers_to_read(
    guests: Sequence[GuestSummary], specs: Sequence[ContainerSpec]
) -> tuple[GuestSummary, ...]:
    """LXC guests a spec names by vmid, or that carry our ownership tag."""
    wanted = {spec.vmid for spec in specs}
    return tuple(g for g in guests if g.kind == "lxc" and (g.vmid in wanted or g.owned))


def observe_containers(
    client: Caller, specs: Sequence[ContainerSpec], parallel_reads: int = 8
) -> ContainerInventory:
    """Exactly one inventory call, then one read per CT in `containers_to_read`."""
    reader = ProxmoxReader(client, parallel_reads)
    guests = reader.guests()
    targets = containers_to_read(guests, specs)
    observed = reader.containers(targets)
    log.info("observe.containers", guests=len(guests), read=len(targets), found=len(observed))
    return ContainerInventory(guests=guests, observed=observed)
