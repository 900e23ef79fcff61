"""Conversion between pyiceberg objects and model.tables values; no catalog calls here."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

from pyiceberg import types as it
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.sorting import NullOrder as IceNullOrder
from pyiceberg.table.sorting import SortDirection as IceDirection
from pyiceberg.table.sorting import SortOrder

from reconciler.model import tables as m

_PRIMITIVES: dict[str, it.PrimitiveType] = {
    "boolean": it.BooleanType(),
    "int": it.IntegerType(),
    "long": it.LongType(),
    "float": it.FloatType(),
    "double": it.DoubleType(),
    "date": it.DateType(),
    "time": it.TimeType(),
    "timestamp": it.TimestampType(),
    "timestamptz": it.TimestamptzType(),
    "string": it.StringType(),
    "uuid": it.UUIDType(),
    "binary": it.BinaryType(),
}
_DECIMAL = re.compile(r"^decimal\((\d+),(\d+)\)$")
_FIXED = re.compile(r"^fixed\[(\d+)\]$")


# ---- pyiceberg -> model -------------------------------------------------------------


def model_type(value: it.IcebergType) -> m.IcebergType:
    if isinstance(value, it.StructType):
        return m.StructType(model_fields(value.fields))
    if isinstance(value, it.ListType):
        return m.ListType(model_type(value.element_type), value.element_required, value.element_id)
    if isinstance(value, it.MapType):
        return m.MapType(
            model_type(value.key_type),
            model_type(value.value_type),
            value.value_required,
            value.key_id,
            value.value_id,
        )
    return m.PrimitiveType(str(value).replace(" ", ""))


def model_fields(fields: tuple[it.NestedField, ...]) -> tuple[m.ColumnSpec, ...]:
    return tuple(
        m.ColumnSpec(
            name=f.name,
            type=model_type(f.field_type),
            required=f.required,
            doc=f.doc,
            id=f.field_id,
        )
        for f in fields
    )


def model_partition(spec: PartitionSpec, schema: Schema) -> tuple[m.PartitionField, ...]:
    return tuple(
        m.PartitionField(
            source=schema.find_column_name(f.source_id) or str(f.source_id),
            transform=str(f.transform),
            name=f.name,
        )
        for f in spec.fields
    )


def model_sort(order: SortOrder, schema: Schema) -> tuple[m.SortField, ...]:
    return tuple(
        m.SortField(
            source=schema.find_column_name(f.source_id) or str(f.source_id),
            transform=str(f.transform),
            direction=m.SortDirection.ASC
            if f.direction == IceDirection.ASC
            else m.SortDirection.DESC,
            nulls=m.NullOrder.FIRST
            if f.null_order == IceNullOrder.NULLS_FIRST
            else m.NullOrder.LAST,
        )
        for f in order.fields
    )


def observed_table(catalog: str, table: Table) -> m.ObservedTable:
    """One loaded pyiceberg Table -> ObservedTable (reads metadata only, no data files)."""
    meta = table.metadata
    schema = meta.schema()
    snapshot = table.current_snapshot()
    summary = None
    if snapshot is not None:
        extra: dict[str, Any] = (
            dict(snapshot.summary.additional_properties) if snapshot.summary else {}
        )
        summary = m.SnapshotSummary(
            snapshot_id=snapshot.snapshot_id,
            timestamp_ms=snapshot.timestamp_ms,
            operation=snapshot.summary.operation.value if snapshot.summary else None,
            summary=tuple(sorted((k, str(v)) for k, v in extra.items())),
        )
    namespace, name = tuple(table.name()[:-1]), table.name()[-1]
    return m.ObservedTable(
        catalog=catalog,
        namespace=namespace,
        name=name,
        fields=model_fields(schema.fields),
        schema_id=meta.current_schema_id,
        spec_id=meta.default_spec_id,
        sort_order_id=meta.default_sort_order_id,
        partition_by=model_partition(meta.spec(), schema),
        sort_by=model_sort(meta.sort_order(), schema),
        properties=tuple(sorted(meta.properties.items())),
        location=meta.location,
        format_version=int(meta.format_version),
        last_column_id=meta.last_column_id,
        snapshot=summary,
        snapshot_count=len(meta.snapshots),
        metadata_location=table.metadata_location,
    )


# ---- model -> pyiceberg -------------------------------------------------------------


def iceberg_type(value: m.IcebergType, ids: Iterator[int] | None = None) -> it.IcebergType:
    """Model type -> pyiceberg type. Nested ids are placeholders: pyiceberg reassigns
    fresh ids on create_table and add_column."""
    counter = ids if ids is not None else itertools.count(1)
    if isinstance(value, m.StructType):
        return it.StructType(*iceberg_fields(value.fields, counter))
    if isinstance(value, m.ListType):
        return it.ListType(
            next(counter), iceberg_type(value.element, counter), value.element_required
        )
    if isinstance(value, m.MapType):
        key_id, value_id = next(counter), next(counter)
        return it.MapType(
            key_id,
            iceberg_type(value.key, counter),
            value_id,
            iceberg_type(value.value, counter),
            value.value_required,
        )
    return primitive(value.name)


def primitive(name: str) -> it.PrimitiveType:
    if name in _PRIMITIVES:
        return _PRIMITIVES[name]
    if match := _DECIMAL.fullmatch(name):
        return it.DecimalType(int(match.group(1)), int(match.group(2)))
    if match := _FIXED.fullmatch(name):
        return it.FixedType(int(match.group(1)))
    raise ValueError(f"unknown Iceberg type {name!r}")


def iceberg_fields(columns: tuple[m.ColumnSpec, ...], ids: Iterator[int]) -> list[it.NestedField]:
    own_ids = [next(ids) for _ in columns]  # top-level ids first, as Iceberg assigns them
    return [
        it.NestedField(
            field_id=field_id,
            name=c.name,
            field_type=iceberg_type(c.type, ids),
            required=c.required,
            doc=c.doc,
        )
        for field_id, c in zip(own_ids, columns, strict=True)
    ]


def iceberg_schema(columns: tuple[m.ColumnSpec, ...]) -> Schema:
    return Schema(*iceberg_fields(columns, itertools.count(1)))


def null_order(value: m.NullOrder) -> IceNullOrder:
    return IceNullOrder.NULLS_FIRST if value is m.NullOrder.FIRST else IceNullOrder.NULLS_LAST
