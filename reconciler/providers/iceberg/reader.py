"""Read side of Iceberg catalogs: list namespaces and tables, load one table as an
ObservedTable; never writes."""

from __future__ import annotations

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from reconciler.model.tables import ObservedTable
from reconciler.providers.iceberg.types import observed_table

Identifier = tuple[str, ...]


def list_namespaces(catalog: Catalog) -> tuple[Identifier, ...]:
    """Every namespace, nested ones included (one list call per level)."""
    found: list[Identifier] = []
    pending: list[Identifier] = [()]
    while pending:
        parent = pending.pop()
        for child in catalog.list_namespaces(parent):
            child = tuple(child)
            if child and child not in found and len(child) > len(parent):
                found.append(child)
                pending.append(child)
    return tuple(sorted(found))


def list_tables(catalog: Catalog, namespace: Identifier) -> tuple[Identifier, ...]:
    return tuple(sorted(tuple(t) for t in catalog.list_tables(namespace)))


def load_observed(
    catalog_name: str, catalog: Catalog, identifier: Identifier
) -> ObservedTable | None:
    """One `load_table`; None when the table vanished since listing."""
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        return None
    return observed_table(catalog_name, table)
