"""Restore a backup: into a new table (default) or as an overwrite snapshot of the current one
(time travel keeps the state before), columns matched by field id; count and checksum verified."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import structlog
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import _dataframe_to_data_files, schema_to_pyarrow
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.sorting import SortOrder
from pyiceberg.types import NestedField

from reconciler.providers.iceberg.backup import verify
from reconciler.providers.iceberg.backup_rows import CHECKSUM, RowChecksum, compatibility, conform
from reconciler.providers.iceberg.backup_target import BackupError, Target

log = structlog.get_logger("reconciler.restore")

BATCH_ROWS = 65536  # rows read from a backup file at a time
CHUNK_ROWS = 524288  # rows written to the table at a time (bounds memory)


@dataclass(frozen=True)
class Restored:
    table: str  # namespace.name restored into
    backup_id: str
    rows: int
    checksum: str
    snapshot_id: int | None
    previous_snapshot_id: int | None  # in place: what time travel (or a rollback) returns to
    new_table: bool


def default_name(name: str, backup_id: str) -> str:
    return f"{name}_restored_{backup_id.lower()}"


def _pairs(
    backup: Schema, current: Schema, by_id: bool
) -> list[tuple[NestedField, NestedField | None]]:
    """(current column, backup column or None) for each current column."""
    if not by_id:  # a table created from the backup's schema: same columns, same order
        return list(zip(current.fields, backup.fields, strict=True))
    ids = {f.field_id: f for f in backup.fields}
    return [(f, ids.get(f.field_id)) for f in current.fields]


def _batches(target: Target, backup_id: str, doc: dict[str, Any]) -> Iterator[pa.Table]:
    """The backup's rows, file by file and batch by batch (never a whole file in memory)."""
    for item in doc.get("files", []):
        path = target.path(backup_id, str(item["path"]))
        with target.filesystem.open_input_file(path) as handle:
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=BATCH_ROWS):
                yield pa.Table.from_batches([batch])


def _chunks(tables: Iterator[pa.Table], rows: int) -> Iterator[pa.Table]:
    """`tables` regrouped into tables of about `rows` rows (the last one smaller)."""
    held: list[pa.Table] = []
    count = 0
    for table in tables:
        held.append(table)
        count += table.num_rows
        if count >= rows:
            yield pa.concat_tables(held)
            held, count = [], 0
    if held:
        yield pa.concat_tables(held)


def _as_current(
    data: pa.Table, pairs: Sequence[tuple[NestedField, NestedField | None]], arrow: pa.Schema
) -> pa.Table:
    columns: list[pa.Array] = []
    for index, (_now, then) in enumerate(pairs):
        wanted = arrow.field(index).type
        if then is None:  # added since the backup (optional: checked before)
            columns.append(pa.nulls(data.num_rows, wanted))
        else:
            columns.append(conform(data.column(then.name).combine_chunks(), wanted))
    return pa.Table.from_arrays(columns, schema=arrow)


def _checksum(table: Table, names: Sequence[str]) -> RowChecksum:
    sums = RowChecksum()
    for batch in table.scan(selected_fields=tuple(names)).to_arrow_batch_reader():
        sums.add(pa.Table.from_batches([batch]).select(list(names)))
    return sums


def _write(
    table: Table,
    target: Target,
    backup_id: str,
    doc: dict[str, Any],
    backup: Schema,
    by_id: bool,
) -> list[str]:
    """One commit: overwrite with the backup's rows (an empty backup deletes all rows)."""
    current = table.schema()
    pairs = _pairs(backup, current, by_id)
    arrow = schema_to_pyarrow(current)

    # One commit of (at most) two snapshots, whatever the backup's size: the old rows
    # deleted, then one append whose data files are written chunk by chunk as rows stream
    # in (pyiceberg's append takes a stream only for unpartitioned tables).
    with table.transaction() as tx:
        if by_id:  # in place: the backup's rows replace all rows (a new table has none)
            tx.delete(AlwaysTrue())
        with tx.update_snapshot().fast_append() as append:
            files = itertools.count(0)  # one counter: chunks' file names must not collide
            for chunk in _chunks(_batches(target, backup_id, doc), CHUNK_ROWS):
                rows = _as_current(chunk, pairs, arrow)
                for data_file in _dataframe_to_data_files(
                    table_metadata=tx.table_metadata,
                    write_uuid=append.commit_uuid,
                    df=rows,
                    io=table.io,
                    counter=files,
                ):
                    append.append_data_file(data_file)
    by_backup = {then.field_id: now.name for now, then in pairs if then is not None}
    return [by_backup[f.field_id] for f in backup.fields]


def _check(table: Table, names: Sequence[str], doc: dict[str, Any]) -> str | None:
    sums = _checksum(table, names)
    want = doc["checksum"]["value"]
    if sums.rows != doc["rows"]:
        return f"restored {sums.rows} rows, the backup has {doc['rows']}"
    if sums.value != want:
        return f"row checksum {sums.value} after the restore, the backup's is {want}"
    return None


def restore(
    catalog: Catalog,
    namespace: tuple[str, ...],
    name: str,
    target: Target,
    backup_id: str,
    *,
    into: str | None = None,
    in_place: bool = False,
) -> Restored:
    """Restore `backup_id` of namespace.name; `into` (a table name in the same namespace) or
    the default `<name>_restored_<id>`; `in_place` writes a new snapshot of the table itself."""
    doc = target.manifest(backup_id)
    if doc.get("checksum", {}).get("algorithm") != CHECKSUM:
        raise BackupError(f"backup {backup_id}: unknown checksum algorithm")
    problems = verify(target, backup_id)
    if problems:
        raise BackupError(f"backup {backup_id} is damaged: {'; '.join(problems)}")
    backup = Schema.model_validate(doc["schema"])
    if in_place:
        return _in_place(catalog, (*namespace, name), target, backup_id, doc, backup)
    new_name = into or default_name(name, backup_id)
    ident = (*namespace, new_name)
    if catalog.table_exists(ident):
        raise BackupError(
            f"table {'.'.join(ident)} already exists: restore refuses to overwrite it "
            "(name another with --as)"
        )
    table = catalog.create_table(
        ident,
        backup,
        partition_spec=PartitionSpec.model_validate(doc["partition_spec"]),
        sort_order=SortOrder.model_validate(doc["sort_order"]),
        properties={"format-version": str(doc.get("format_version", 2))},
    )
    try:
        names = _write(table, target, backup_id, doc, backup, by_id=False)
        table = catalog.load_table(ident)
        failure = _check(table, names, doc)
        if failure is not None:
            raise BackupError(f"restore of {backup_id} failed verification: {failure}")
    except BaseException:
        _discard(catalog, ident, table.location())
        raise
    snapshot = table.current_snapshot()
    return Restored(
        ".".join(ident),
        backup_id,
        int(str(doc["rows"])),
        str(doc["checksum"]["value"]),
        snapshot.snapshot_id if snapshot else None,
        None,
        True,
    )


def _discard(catalog: Catalog, ident: tuple[str, ...], location: str) -> None:
    """A failed restore into a new table leaves no table behind (its files too, where the
    catalog can purge; Hive cannot: the entry is dropped and the location named)."""
    try:
        catalog.purge_table(ident)
    except NotImplementedError:
        catalog.drop_table(ident)
        log.warning("restore.files_left", table=".".join(ident), location=location)


def _in_place(
    catalog: Catalog,
    ident: tuple[str, ...],
    target: Target,
    backup_id: str,
    doc: dict[str, Any],
    backup: Schema,
) -> Restored:
    table = catalog.load_table(ident)
    reasons = compatibility(backup, table.schema())
    if reasons:
        raise BackupError(
            f"backup {backup_id} cannot be restored into {'.'.join(ident)}: " + "; ".join(reasons)
        )
    before = table.current_snapshot()
    previous = before.snapshot_id if before else None
    names = _write(table, target, backup_id, doc, backup, by_id=True)
    table = catalog.load_table(ident)
    failure = _check(table, names, doc)
    if failure is not None:
        if previous is not None:  # put the table back as it was; the bad snapshot stays in history
            table.manage_snapshots().set_current_snapshot(previous).commit()
        raise BackupError(f"restore of {backup_id} failed verification: {failure}")
    snapshot = table.current_snapshot()
    return Restored(
        ".".join(ident),
        backup_id,
        int(str(doc["rows"])),
        str(doc["checksum"]["value"]),
        snapshot.snapshot_id if snapshot else None,
        previous,
        False,
    )
