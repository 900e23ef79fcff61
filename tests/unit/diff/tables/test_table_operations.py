"""Table lines carry their instruction: create/update/drop operations, exactly round-tripped
through the saved plan's JSON."""

from __future__ import annotations

import json

import pytest

from reconciler.diff.tables import plan_tables
from reconciler.model.tables import (
    MANAGED_BY_PROPERTY,
    MANAGED_BY_VALUE,
    ColumnSpec,
    ListType,
    MapType,
    NullOrder,
    PartitionField,
    PrimitiveType,
    SortDirection,
    SortField,
    StructType,
    TableInventory,
    TableSpec,
)
from reconciler.plan.change import Action, Plan
from reconciler.plan.operations import OperationDecodeError, decode_operations
from reconciler.plan.saved import SavedPlan, saved_from_dict, saved_to_json
from reconciler.plan.table_ops import CreateTable, OpKind, TableOp, table_identity

NESTED = (
    ColumnSpec("id", PrimitiveType("long"), required=True, doc="key", id=1),
    ColumnSpec(
        "customer",
        StructType(
            (
                ColumnSpec("email", PrimitiveType("string")),
                ColumnSpec("tags", ListType(PrimitiveType("string"), True, 7)),
            )
        ),
        renamed_from="client",
    ),
    ColumnSpec(
        "attrs", MapType(PrimitiveType("string"), PrimitiveType("decimal(12,2)"), True, 8, 9)
    ),
    ColumnSpec("ts", PrimitiveType("timestamptz"), required=True),
)
SPEC = TableSpec(
    catalog="lake",
    namespace=("sales", "eu"),
    name="orders",
    fields=NESTED,
    partition_by=(PartitionField("ts", "day"), PartitionField("id", "bucket[16]", "id_b")),
    sort_by=(SortField("id", "identity", SortDirection.DESC, NullOrder.LAST),),
    properties=(("write.parquet.compression-codec", "zstd"), ("x", "1")),
    location="s3://lake/orders",
    format_version=2,
)


def test_a_create_line_carries_the_whole_table_as_data() -> None:
    (line,) = plan_tables((SPEC,), TableInventory(), False)
    assert line.action is Action.CREATE
    assert line.operations == (
        CreateTable(
            columns=NESTED,
            partition_by=SPEC.partition_by,
            sort_by=SPEC.sort_by,
            properties=(
                (MANAGED_BY_PROPERTY, MANAGED_BY_VALUE),
                ("write.parquet.compression-codec", "zstd"),
                ("x", "1"),
            ),
            location="s3://lake/orders",
            format_version=2,
        ),
    )
    doc = line.operations[0].to_dict()
    assert doc["op"] == "create_table"
    # Nested types, ids, required flags and renamedFrom survive the JSON round trip exactly.
    assert decode_operations(json.loads(json.dumps([doc])), "x") == line.operations


def test_the_saved_plan_file_rebuilds_equal_operations() -> None:
    (line,) = plan_tables((SPEC,), TableInventory(), False)
    saved = SavedPlan(Plan((line,)), None, "sha256:0", "2026-01-01T00:00:00Z", "t")
    again = saved_from_dict(json.loads(saved_to_json(saved)))
    assert again.plan.changes[0].operations == line.operations


def test_an_operation_equals_its_decoded_form_without_its_display() -> None:
    op = TableOp(OpKind.ADD_COLUMN, path=("note",), column_type=PrimitiveType("string"))
    assert op.to_dict() == {"op": "add_column", "path": ["note"], "type": "string"}
    (back,) = decode_operations([op.to_dict()], "x")
    assert back == op and back.why == ""  # `why` is display, never part of the instruction


def test_an_unknown_operation_or_bad_value_is_an_error_naming_it() -> None:
    with pytest.raises(OperationDecodeError, match=r"changes\[0\]\.operations\[0\].*'nope'"):
        decode_operations([{"op": "nope"}], "changes[0]")
    with pytest.raises(OperationDecodeError, match=r"add_column.*path"):
        decode_operations([{"op": "add_column", "path": "note"}], "changes[0]")
    with pytest.raises(OperationDecodeError, match=r"drop_table.*purge"):
        decode_operations([{"op": "drop_table", "purge": True}], "changes[0]")


def test_table_identity_reads_nested_namespaces_from_the_address() -> None:
    assert table_identity(SPEC.address) == ("lake", ("sales", "eu"), "orders")
    with pytest.raises(ValueError, match="not a table address"):
        table_identity("table/lake.orders")
