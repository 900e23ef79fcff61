"""Test data for backups: a partitioned table with nested types (struct, list, map) and
timestamps, decimals, dates and binary, appended in several commits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.types import (
    BinaryType,
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
    TimestamptzType,
)

from reconciler.providers.iceberg.backup_rows import RowChecksum

# Field ids as pyiceberg assigns them (breadth first), so a created table keeps them.
SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=True),
    NestedField(2, "region", StringType(), required=False),
    NestedField(3, "ts", TimestamptzType(), required=True),
    NestedField(4, "amount", DecimalType(12, 2), required=False),
    NestedField(5, "qty", IntegerType(), required=False),
    NestedField(
        6,
        "addr",
        StructType(
            NestedField(11, "city", StringType(), required=False),
            NestedField(12, "zip", IntegerType(), required=False),
        ),
        required=False,
    ),
    NestedField(7, "tags", ListType(13, StringType(), element_required=False), required=False),
    NestedField(
        8,
        "attrs",
        MapType(14, StringType(), 15, DoubleType(), value_required=False),
        required=False,
    ),
    NestedField(9, "day", DateType(), required=False),
    NestedField(10, "blob", BinaryType(), required=False),
)
SPEC = PartitionSpec(
    PartitionField(2, 1000, IdentityTransform(), "region"),
    PartitionField(3, 1001, DayTransform(), "ts_day"),
)
REGIONS = ("eu", "us", "ap")
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def rows(start: int, count: int) -> list[dict[str, object]]:
    return [
        {
            "id": i,
            "region": REGIONS[i % 3],
            "ts": T0 + timedelta(days=i % 4, seconds=i),
            "amount": Decimal(i) / 4 if i % 7 else None,
            "qty": i % 50,
            "addr": {"city": f"city-{i % 11}", "zip": 10000 + i} if i % 5 else None,
            "tags": [f"t{i % 3}", None, "x"] if i % 2 else [],
            "attrs": [("score", i / 3), ("w", None)] if i % 4 else None,
            "day": date(2026, 1, 1) + timedelta(days=i % 30),
            "blob": bytes([i % 256, 7]) if i % 6 else None,
        }
        for i in range(start, start + count)
    ]


def make_table(
    catalog: Catalog, ident: tuple[str, str], batches: int = 3, size: int = 400
) -> Table:
    if not catalog.namespace_exists(ident[0]):
        catalog.create_namespace(ident[0])
    table = catalog.create_table(ident, SCHEMA, partition_spec=SPEC)
    arrow = schema_to_pyarrow(table.schema())
    for n in range(batches):
        table.append(pa.Table.from_pylist(rows(n * size, size), schema=arrow))
    return catalog.load_table(ident)


def table_checksum(
    table: Table, names: list[str] | None = None, snapshot_id: int | None = None
) -> RowChecksum:
    """The row checksum of a table's columns (`names`, default all, in that order)."""
    wanted = names or [f.name for f in table.schema().fields]
    sums = RowChecksum()
    scan = table.scan(selected_fields=tuple(wanted), snapshot_id=snapshot_id)
    for batch in scan.to_arrow_batch_reader():
        sums.add(pa.Table.from_batches([batch]).select(wanted))
    return sums
