"""The registry of spec kinds: kind name -> schema file, builder, cross-spec check; schemas."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from reconciler.sources.build_containers import build_container, check_containers
from reconciler.sources.build_policies import (
    build_policy,
    check_policies,
    check_table_policies,
    check_table_retention,
)
from reconciler.sources.build_tables import build_table, check_tables
from reconciler.sources.documents import Built, Document, Problems, SpecError
from reconciler.sources.strict_schema import strict_validator

API_VERSION = "reconciler/v1"

# Reports every problem through Problems and returns the spec even when it reported some (the
# rules across specs still see it); None only when a required key is missing. It runs on the
# document minus the values the schema refused, so it must not assume schema-valid input.
Builder = Callable[[Document, Problems], Any]
CrossCheck = Callable[[Sequence[Built]], Iterable[SpecError]]


@dataclass(frozen=True)
class Kind:
    """How to validate and build one `kind:`.

    `collection` is the `model.desired.Desired` field the built specs go to;
    `address_prefix` is the first part of their addresses (`container/minio`),
    which is also what `dependsOn` entries may name.
    """

    schema: str
    build: Builder
    collection: str
    address_prefix: str
    check: CrossCheck | None = None


# Adding a kind is one entry here (plus its schema file in reconciler/schemas/).
KINDS: Mapping[str, Kind] = MappingProxyType(
    {
        "Container": Kind(
            schema="container.schema.json",
            build=build_container,
            collection="containers",
            address_prefix="container",
            check=check_containers,
        ),
        "MaintenancePolicy": Kind(
            schema="policy.schema.json",
            build=build_policy,
            collection="policies",
            address_prefix="policy",
            check=check_policies,
        ),
        "Table": Kind(
            schema="table.schema.json",
            build=build_table,
            collection="tables",
            address_prefix="table",
            check=check_tables,
        ),
    }
)


# Rules spanning kinds (a Table's policy names a MaintenancePolicy); each gets every built spec.
def _table_policies(built: Sequence[Built]) -> Iterable[SpecError]:
    """A Table's `policy` must name a MaintenancePolicy of the same revision."""
    policies = [b.spec.name for b in built if b.kind == "MaintenancePolicy"]
    return check_table_policies(policies, [b for b in built if b.kind == "Table"])


def _table_retention(built: Sequence[Built]) -> Iterable[SpecError]:
    """A policy's retention column is a date or timestamp column of each table using it."""
    policies = [b.spec for b in built if b.kind == "MaintenancePolicy"]
    return check_table_retention(policies, [b for b in built if b.kind == "Table"])


CROSS_KIND_CHECKS: tuple[CrossCheck, ...] = (_table_policies, _table_retention)


def schema_text(name: str) -> str:
    """A schema shipped as package data in `reconciler/schemas/` (works installed or editable)."""
    return resources.files("reconciler").joinpath("schemas", name).read_text(encoding="utf-8")


@cache
def validator_for(schema_name: str) -> Any:
    """The Draft 2020-12 validator of one schema file, `pattern` as a full match; read once."""
    return strict_validator(json.loads(schema_text(schema_name)))


def address_prefixes() -> frozenset[str]:
    return frozenset(kind.address_prefix for kind in KINDS.values())
