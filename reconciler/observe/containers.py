"""What one plan observes of LXC containers: the inventory shape and which CTs to read; pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reconciler.model.containers import ContainerSpec, GuestSummary, ObservedContainer


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
