"""File-size histograms of tables' current snapshots, read from the manifests (each entry's
file_size_in_bytes), never from the data files; read-only."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
from pyiceberg.manifest import ManifestContent
from pyiceberg.table import Table

from reconciler.model.file_sizes import SizeBucket, histogram
from reconciler.model.health import TableHealth
from reconciler.model.tables import TableSpec
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.health import read_health


def data_file_sizes(table: Table) -> list[int]:
    """file_size_in_bytes of every live data file of the current snapshot."""
    snapshot = table.current_snapshot()
    if snapshot is None:
        return []
    return [
        entry.data_file.file_size_in_bytes
        for manifest in snapshot.manifests(table.io)
        if manifest.content == ManifestContent.DATA
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
    ]


def file_size_histogram(table: Table) -> tuple[SizeBucket, ...]:
    """The current snapshot's data files, bucketed by size (model.file_sizes.EDGES)."""
    return histogram(data_file_sizes(table))


@dataclass(frozen=True)
class TableSizes:
    """A table's histogram and its health figures as read with it (no compaction policy)."""

    histogram: tuple[SizeBucket, ...]
    health: TableHealth


def _one(catalogs: Catalogs, spec: TableSpec) -> TableSizes | None:
    try:
        table = catalogs.get(spec.catalog).load_table((*spec.namespace, spec.name))
    except (NoSuchTableError, NoSuchNamespaceError):
        return None
    return TableSizes(file_size_histogram(table), read_health(table, spec.address, None))


def read_table_sizes(
    catalogs: Catalogs, specs: Sequence[TableSpec], max_workers: int = 8
) -> dict[str, TableSizes]:
    """TableSizes of every spec'd table that exists, by address (loaded in parallel)."""
    if not specs:
        return {}
    with ThreadPoolExecutor(
        max_workers=max(1, min(max_workers, len(specs))), thread_name_prefix="iceberg-sizes"
    ) as pool:
        found = list(pool.map(lambda spec: _one(catalogs, spec), specs))
    return {s.address: f for s, f in zip(specs, found, strict=True) if f is not None}
