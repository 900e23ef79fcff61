"""Reads a table's maintenance health from pyiceberg metadata, cheaply; never writes.

Counts come from the current snapshot summary and the metadata already loaded
with the table; the manifest list is read for the manifest count. Data files are
listed (one pass over the current manifests) only when the summary cannot rule
out the compaction trigger (`model.health.needs_file_sizes`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
from pyiceberg.manifest import DataFile, DataFileContent, ManifestContent
from pyiceberg.table import Table

from reconciler.model.health import SnapshotInfo, TableHealth, needs_file_sizes
from reconciler.model.policies import Compaction, PositionDeleteRewrite, Retention
from reconciler.providers.iceberg.retention import count_expired, cutoff_of


def _summary_int(summary: dict[str, str], key: str) -> int:
    try:
        return int(summary.get(key, "0"))
    except ValueError:
        return 0


def count_small_files(table: Table, threshold: int) -> tuple[int, int]:
    """Small live data files that compaction can merge: those under `threshold` bytes that
    share their partition with another small file (a lone small file per partition cannot
    be improved, and counting it would plan a rewrite that changes nothing, every cycle).
    Returns (files, partitions holding them)."""
    files, partitions, _ = small_file_figures(table, threshold)
    return files, partitions


def small_file_figures(table: Table, threshold: int) -> tuple[int, int, int]:
    """(files, partitions, bytes) of the mergeable small files (see count_small_files)."""
    snapshot = table.current_snapshot()
    if snapshot is None:
        return 0, 0, 0
    groups: Counter[tuple[int, str]] = Counter()
    sizes: Counter[tuple[int, str]] = Counter()
    for manifest in snapshot.manifests(table.io):
        if manifest.content != ManifestContent.DATA:
            continue
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            if entry.data_file.file_size_in_bytes < threshold:
                key = (manifest.partition_spec_id, repr(entry.data_file.partition))
                groups[key] += 1
                sizes[key] += entry.data_file.file_size_in_bytes
    mergeable = [key for key, count in groups.items() if count >= 2]
    return sum(groups[k] for k in mergeable), len(mergeable), sum(sizes[k] for k in mergeable)


# Iceberg's reserved field id of a position delete file's `file_path` column.
DELETE_FILE_PATH_ID = 2147483546


def _referenced_data_file(delete_file: DataFile) -> bytes | None:
    """The one data file a position delete file covers, or None for a partition-scoped one:
    as Iceberg's ContentFileUtil reads it, from equal `file_path` bounds (pyiceberg does not
    read `referenced_data_file` from format-version 2 manifests)."""
    lower = (delete_file.lower_bounds or {}).get(DELETE_FILE_PATH_ID)
    upper = (delete_file.upper_bounds or {}).get(DELETE_FILE_PATH_ID)
    return lower if lower is not None and lower == upper else None


def count_mergeable_deletes(table: Table) -> int:
    """Live position delete files that rewrite_position_delete_files can merge: those sharing
    their partition with another one, unless each of them covers a different data file
    (file-scoped deletes, one per data file, are rewritten into as many)."""
    snapshot = table.current_snapshot()
    if snapshot is None:
        return 0
    groups: dict[tuple[int, str], list[bytes | None]] = {}
    for manifest in snapshot.manifests(table.io):
        if manifest.content != ManifestContent.DELETES:
            continue
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            if entry.data_file.content != DataFileContent.POSITION_DELETES:
                continue
            key = (manifest.partition_spec_id, repr(entry.data_file.partition))
            groups.setdefault(key, []).append(_referenced_data_file(entry.data_file))
    return sum(
        len(refs)
        for refs in groups.values()
        if len(refs) >= 2 and (None in refs or len(set(refs)) < len(refs))
    )


def read_health(
    table: Table,
    address: str,
    compaction: Compaction | None,
    position_deletes: PositionDeleteRewrite | None = None,
    retention: Retention | None = None,
    now: datetime | None = None,
) -> TableHealth:
    """TableHealth of one loaded table; `compaction` decides whether file sizes are read,
    `position_deletes` whether delete manifests are (only past its trigger), `retention`
    (with `now`) whether the rows past its age are counted."""
    metadata = table.metadata
    properties = metadata.properties
    snapshots = tuple(
        sorted(
            (SnapshotInfo(s.snapshot_id, s.timestamp_ms) for s in metadata.snapshots),
            key=lambda s: s.timestamp_ms,
        )
    )
    refs = frozenset(ref.snapshot_id for ref in metadata.refs.values())
    gc_enabled = properties.get("gc.enabled", "true").strip().lower() != "false"
    current = table.current_snapshot()
    if current is None:
        return TableHealth(
            address, snapshots=snapshots, ref_snapshot_ids=refs, gc_enabled=gc_enabled
        )
    summary = dict(current.summary.additional_properties) if current.summary is not None else {}
    data_files = _summary_int(summary, "total-data-files")
    total_bytes = _summary_int(summary, "total-files-size")
    small_files: int | None = None
    small_groups: int | None = None
    small_size: int | None = None
    small_bytes: int | None = None
    if compaction is not None and needs_file_sizes(data_files, total_bytes, compaction):
        small_size = compaction.small_file_size
        small_files, small_groups, small_bytes = small_file_figures(table, small_size)
    delete_files = _summary_int(summary, "total-delete-files")
    mergeable: int | None = None
    if position_deletes is not None and delete_files >= position_deletes.min_delete_files:
        mergeable = count_mergeable_deletes(table)
    expired: int | None = None
    before: str | None = None
    if retention is not None and now is not None:
        cutoff = cutoff_of(now, retention.delete_older_than)
        expired = count_expired(table, retention.column, cutoff)
        before = cutoff.isoformat(timespec="seconds")
    return TableHealth(
        address=address,
        expired_rows=expired,
        expired_before=before,
        data_files=data_files,
        total_bytes=total_bytes,
        records=_summary_int(summary, "total-records"),
        delete_files=delete_files,
        mergeable_delete_files=mergeable,
        manifests=len(current.manifests(table.io)),
        snapshots=snapshots,
        ref_snapshot_ids=refs,
        current_snapshot_id=current.snapshot_id,
        gc_enabled=gc_enabled,
        small_files=small_files,
        small_file_partitions=small_groups,
        small_file_size=small_size,
        small_file_bytes=small_bytes,
    )


def load_health(
    catalog: Catalog,
    identifier: tuple[str, ...],
    address: str,
    compaction: Compaction | None,
    position_deletes: PositionDeleteRewrite | None = None,
    retention: Retention | None = None,
    now: datetime | None = None,
) -> TableHealth | None:
    """One `load_table` then `read_health`; None when the table does not exist yet."""
    try:
        table = catalog.load_table(identifier)
    except (NoSuchTableError, NoSuchNamespaceError):
        return None
    return read_health(table, address, compaction, position_deletes, retention, now)
