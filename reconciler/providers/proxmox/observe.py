"""The Proxmox VE container observer (observe.ports.ContainerObserver); read-only."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from reconciler.model.containers import ContainerSpec
from reconciler.observe.containers import ContainerInventory, containers_to_read
from reconciler.providers.proxmox.reader import Caller, ProxmoxReader

log = structlog.get_logger(__name__)


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
