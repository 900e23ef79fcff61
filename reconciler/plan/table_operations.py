"""Every step turning an observed Iceberg table into its spec (TableOps, in transaction order)
and the preconditions a table update carries; pure.

The differ is their only caller: the steps travel in the plan line, and the Iceberg writer
replays them after checking the line's preconditions (so a commit never applies steps
computed against another version of the table).
"""

from __future__ import annotations

from reconciler.model.tables import (
    RESERVED_PROPERTIES,
    ObservedTable,
    PartitionField,
    SortField,
    TableSpec,
)
from reconciler.plan.change import FieldChange, JSONScalar, JSONValue
from reconciler.plan.table_ops import OpKind, TableOp
from reconciler.plan.table_schema import diff_schema


def partition_text(fields: tuple[PartitionField, ...]) -> list[JSONValue]:
    return [f"{f.transform}({f.source})" + (f" as {f.name}" if f.name else "") for f in fields]


def sort_text(fields: tuple[SortField, ...]) -> list[JSONValue]:
    out: list[JSONValue] = []
    for f in fields:
        term = f.source if f.transform == "identity" else f"{f.transform}({f.source})"
        out.append(f"{term} {f.direction.value} nulls {f.nulls.value}")
    return out


def table_operations(spec: TableSpec, observed: ObservedTable) -> tuple[TableOp, ...]:
    """Every step turning `observed` into `spec`, in the order a transaction applies them."""
    schema_ops, renames = diff_schema(spec.fields, observed.fields)
    ops = list(schema_ops)
    ops.extend(_partition_ops(spec, observed, renames))
    ops.extend(_sort_ops(spec, observed, renames))
    ops.extend(_property_ops(spec, observed))
    if spec.format_version > observed.format_version:
        ops.append(
            TableOp(
                OpKind.UPGRADE_FORMAT,
                FieldChange("formatVersion", observed.format_version, spec.format_version),
                "format upgrade: metadata only, existing files stay valid",
                format_version=spec.format_version,
            )
        )
    elif spec.format_version < observed.format_version:
        ops.append(
            TableOp(
                OpKind.IMPOSSIBLE,
                FieldChange("formatVersion", observed.format_version, spec.format_version),
                "a table format version can never go down",
            )
        )
    if spec.location and spec.location.rstrip("/") != observed.location.rstrip("/"):
        ops.append(
            TableOp(
                OpKind.IMPOSSIBLE,
                FieldChange("location", observed.location, spec.location),
                "a table's location cannot change in place",
            )
        )
    return tuple(ops)


def _renamed(source: str, renames: dict[str, str]) -> str:
    return renames.get(source, source)


def _partition_ops(
    spec: TableSpec, observed: ObservedTable, renames: dict[str, str]
) -> list[TableOp]:
    have = [
        PartitionField(_renamed(f.source, renames), f.transform, f.name)
        for f in observed.partition_by
        if f.transform != "void"
    ]
    want = [f for f in spec.partition_by if f.transform != "void"]
    names = {(f.source, f.transform): f.name for f in have}
    same = len(have) == len(want) and all(
        (f.source, f.transform) in names and f.name in (None, names[(f.source, f.transform)])
        for f in want
    )
    if same:
        return []
    return [
        TableOp(
            OpKind.SET_PARTITION,
            FieldChange("partitionBy", partition_text(tuple(have)), partition_text(tuple(want))),
            "partition evolution: new data uses the new spec, existing files keep theirs",
            partition_by=spec.partition_by,
        )
    ]


def _sort_ops(spec: TableSpec, observed: ObservedTable, renames: dict[str, str]) -> list[TableOp]:
    have = tuple(
        SortField(_renamed(f.source, renames), f.transform, f.direction, f.nulls)
        for f in observed.sort_by
    )
    if have == spec.sort_by:
        return []
    return [
        TableOp(
            OpKind.SET_SORT,
            FieldChange("sortBy", sort_text(have), sort_text(spec.sort_by)),
            "sort order: applies to future writes and compaction, existing data is kept",
            sort_by=spec.sort_by,
        )
    ]


def _property_ops(spec: TableSpec, observed: ObservedTable) -> list[TableOp]:
    have = dict(observed.properties)
    ops: list[TableOp] = []
    for key, value in spec.properties:
        if key in RESERVED_PROPERTIES or have.get(key) == value:
            continue
        ops.append(
            TableOp(
                OpKind.SET_PROPERTY,
                FieldChange(f"properties.{key}", have.get(key), value),
                f"property {key}: table metadata only",
                path=(key,),
                value=value,
            )
        )
    for key in spec.properties_remove:
        if key in have and key not in RESERVED_PROPERTIES:
            ops.append(
                TableOp(
                    OpKind.REMOVE_PROPERTY,
                    FieldChange(f"properties.{key}", have[key], None),
                    f"property {key} removed (propertiesRemove)",
                    path=(key,),
                )
            )
    return ops


def preconditions(observed: ObservedTable) -> tuple[tuple[str, JSONScalar], ...]:
    return (
        ("schema_id", observed.schema_id),
        ("spec_id", observed.spec_id),
        ("sort_order_id", observed.sort_order_id),
    )
