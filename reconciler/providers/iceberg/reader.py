"""Read side of Iceberg catalogs: list namespaces and tables, load one table as an
ObservedTable; never writes."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from reconciler.model.tables import MANAGED_BY_PROPERTY, MANAGED_BY_VALUE, ObservedTable, TableSpec
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.types import observed_table

Identifier = tuple[str, ...]


class TableMemo:
    """Tables loaded by one observation, so the health read of the same plan reuses them
    (one `load_table` per table per plan). Cleared at the start of each observation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables: dict[tuple[str, Identifier], Table] = {}

    def clear(self) -> None:
        with self._lock:
            self._tables.clear()

    def put(self, catalog_name: str, identifier: Identifier, table: Table) -> None:
        with self._lock:
            self._tables[(catalog_name, tuple(identifier))] = table

    def get(self, catalog_name: str, identifier: Identifier) -> Table | None:
        with self._lock:
            return self._tables.get((catalog_name, tuple(identifier)))


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


@dataclass(frozen=True)
class Listed:
    """A listed table; `entry` is the catalog's own record when the listing returned it
    (Hive: the metastore table, holding `metadata_location`), so loading needs no call."""

    identifier: Identifier
    entry: object | None = None


def list_listed(catalog: Catalog, namespace: Identifier) -> tuple[Listed, ...]:
    """The namespace's tables; with their entries where the catalog can list those."""
    bulk = getattr(catalog, "list_iceberg_tables", None)
    if bulk is not None:
        return tuple(Listed(tuple(i), entry) for i, entry in bulk(namespace))
    return tuple(Listed(i) for i in list_tables(catalog, namespace))


def load_observed(
    catalog_name: str,
    catalog: Catalog,
    identifier: Identifier | Listed,
    memo: TableMemo | None = None,
) -> ObservedTable | None:
    """One `load_table` (none for a listed entry); None when the table vanished since."""
    listed = identifier if isinstance(identifier, Listed) else Listed(identifier)
    identifier = listed.identifier
    try:
        if listed.entry is not None:
            table = catalog.table_from_listing(listed.entry)  # type: ignore[attr-defined]
        else:
            table = catalog.load_table(identifier)
    except NoSuchTableError:
        return None
    if memo is not None:
        memo.put(catalog_name, identifier, table)
    return observed_table(catalog_name, table)


def table_owned(catalogs: Catalogs, spec: TableSpec) -> bool:
    """A fresh load: does the table still carry our ownership property?"""
    try:
        table = catalogs.get(spec.catalog).load_table((*spec.namespace, spec.name))
    except NoSuchTableError:
        return False
    return table.metadata.properties.get(MANAGED_BY_PROPERTY) == MANAGED_BY_VALUE
