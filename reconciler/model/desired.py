"""The whole desired state of one revision, as built from validated specs; pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.model.containers import ContainerSpec


@dataclass(frozen=True)
class Desired:
    """Everything the specs ask for. `tables` and `policies` hold model.tables /
    model.policies objects (typed there); kept loose here so each kind stays
    in its own module."""

    containers: tuple[ContainerSpec, ...] = ()
    tables: tuple[Any, ...] = ()
    policies: tuple[Any, ...] = ()
