"""What the engine asks of observation: protocols the providers implement; wiring builds them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from reconciler.model.containers import ContainerSpec
from reconciler.model.health import TableHealth
from reconciler.model.policies import MaintenancePolicy
from reconciler.model.tables import TableInventory, TableSpec
from reconciler.observe.containers import ContainerInventory


class ContainerObserver(Protocol):
    """Every guest of the cluster plus the parsed config of each CT the specs may touch."""

    def __call__(self, specs: Sequence[ContainerSpec], /) -> ContainerInventory: ...


class TableObserver(Protocol):
    """Every namespace and table of the catalogs the specs name (and the configured ones)."""

    def __call__(self, specs: Sequence[TableSpec], /) -> TableInventory: ...


class HealthObserver(Protocol):
    """The health of each table whose policy exists, by address; `now` is the planning
    moment (a retention age counts back from it, as the plan's other cutoffs do)."""

    def __call__(
        self,
        specs: Sequence[TableSpec],
        policies: Mapping[str, MaintenancePolicy],
        now: datetime,
        /,
    ) -> Mapping[str, TableHealth]: ...
