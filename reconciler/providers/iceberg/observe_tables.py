"""Observe Iceberg tables: list every namespace and table per catalog, then load the
tables in parallel (bounded) into a TableInventory; read-only."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import structlog

from reconciler.model.tables import ObservedTable, TableInventory, TableSpec
from reconciler.providers.iceberg.catalog import Catalogs, mask
from reconciler.providers.iceberg.reader import (
    Listed,
    TableMemo,
    list_listed,
    list_namespaces,
    load_observed,
)

log = structlog.get_logger(__name__)


def _load_in_worker(
    catalogs: Catalogs, name: str, listed: Listed, memo: TableMemo | None
) -> ObservedTable | None:
    # The catalog is fetched in the worker: a Hive catalog is one thrift client per thread.
    return load_observed(name, catalogs.get(name), listed, memo)


def _observe_catalog(
    catalogs: Catalogs, name: str, memo: TableMemo | None, max_workers: int | None
) -> tuple[list[tuple[str, ...]], list[ObservedTable]]:
    """Namespaces and tables of one catalog; the first failure raises (nothing partial).
    Namespaces are listed, and tables loaded, `parallel_reads` at a time."""
    found = list(list_namespaces(catalogs.get(name)))
    workers = max(1, max_workers if max_workers is not None else catalogs.parallel_reads(name))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="iceberg-read") as pool:
        listings = pool.map(lambda ns: list_listed(catalogs.get(name), ns), found)
        listed = [entry for listing in listings for entry in listing]
        loaded = list(pool.map(lambda e: _load_in_worker(catalogs, name, e, memo), listed))
    return found, [t for t in loaded if t is not None]


def observe_tables(
    catalogs: Catalogs,
    desired: tuple[TableSpec, ...] = (),
    *,
    catalog_names: Iterable[str] | None = None,
    max_workers: int | None = None,
    memo: TableMemo | None = None,
) -> TableInventory:
    """Inventory of the catalogs named by the specs plus `catalog_names` (default: all
    configured). One load per listed table, so orphans and unowned tables are seen too;
    loads run `parallel_reads` at a time per catalog (`max_workers` overrides it).
    A catalog that fails is recorded in `errors` and nothing of it is reported as tables."""
    names = sorted({s.catalog for s in desired} | set(catalog_names or catalogs.names))
    namespaces: list[tuple[str, tuple[str, ...]]] = []
    tables: list[ObservedTable] = []
    errors: dict[str, str] = {}
    for name in names:
        try:
            found, loaded = _observe_catalog(catalogs, name, memo, max_workers)
        except Exception as exc:  # any catalog failure: plan nothing for it
            errors[name] = mask(str(exc) or type(exc).__name__, catalogs.secrets(name))
            log.warning("iceberg.catalog_unreadable", catalog=name, error=errors[name])
            continue
        namespaces.extend((name, ns) for ns in found)
        tables.extend(loaded)
    log.debug("iceberg.observed", catalogs=len(names), tables=len(tables))
    return TableInventory(
        namespaces=tuple(sorted(namespaces)),
        tables=tuple(sorted(tables, key=lambda t: t.address)),
        errors=tuple(sorted(errors.items())),
    )
