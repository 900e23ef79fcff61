"""Observe Iceberg tables: list every namespace and table per catalog, then load the
tables in parallel (bounded) into a TableInventory; read-only."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

import structlog

from reconciler.model.tables import ObservedTable, TableInventory, TableSpec
from reconciler.providers.iceberg.catalog import Catalogs, mask
from reconciler.providers.iceberg.reader import (
    TableMemo,
    list_namespaces,
    list_tables,
    load_observed,
)

log = structlog.get_logger(__name__)
DEFAULT_WORKERS = 8


def observe_tables(
    catalogs: Catalogs,
    desired: tuple[TableSpec, ...] = (),
    *,
    catalog_names: Iterable[str] | None = None,
    max_workers: int = DEFAULT_WORKERS,
    memo: TableMemo | None = None,
) -> TableInventory:
    """Inventory of the catalogs named by the specs plus `catalog_names` (default: all
    configured). One load per listed table, so orphans and unowned tables are seen too.
    A catalog that fails is recorded in `errors` and nothing of it is reported as tables."""
    names = sorted({s.catalog for s in desired} | set(catalog_names or catalogs.names))
    namespaces: list[tuple[str, tuple[str, ...]]] = []
    errors: dict[str, str] = {}
    pending: list[tuple[str, Future[ObservedTable | None]]] = []
    workers = max(1, max_workers)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="iceberg-read") as pool:
        for name in names:
            try:
                catalog = catalogs.get(name)
                found = list_namespaces(catalog)
                identifiers = [t for ns in found for t in list_tables(catalog, ns)]
            except Exception as exc:  # any catalog failure: plan nothing for it
                errors[name] = mask(str(exc), catalogs.secrets(name))
                log.warning("iceberg.catalog_unreadable", catalog=name, error=errors[name])
                continue
            namespaces.extend((name, ns) for ns in found)
            for identifier in identifiers:
                pending.append((name, pool.submit(load_observed, name, catalog, identifier, memo)))
        tables: list[ObservedTable] = []
        for name, future in pending:
            try:
                table = future.result()
            except Exception as exc:
                errors.setdefault(name, mask(str(exc), catalogs.secrets(name)))
                log.warning("iceberg.table_unreadable", catalog=name, error=errors[name])
                continue
            if table is not None:
                tables.append(table)
    tables = [t for t in tables if t.catalog not in errors]
    log.debug("iceberg.observed", catalogs=len(names), tables=len(tables))
    return TableInventory(
        namespaces=tuple(sorted(n for n in namespaces if n[0] not in errors)),
        tables=tuple(sorted(tables, key=lambda t: t.address)),
        errors=tuple(sorted(errors.items())),
    )
