"""The whole desired state of one revision, as built from validated specs; pure."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model.containers import ContainerSpec
from reconciler.model.policies import MaintenancePolicy
from reconciler.model.tables import TableSpec


@dataclass(frozen=True)
class Desired:
    """Everything the specs ask for, one tuple per kind."""

    containers: tuple[ContainerSpec, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    policies: tuple[MaintenancePolicy, ...] = ()

    @property
    def resources(self) -> tuple[ContainerSpec | TableSpec, ...]:
        """Containers then tables: everything that has an address, a drift mode, dependsOn."""
        return (*self.containers, *self.tables)
