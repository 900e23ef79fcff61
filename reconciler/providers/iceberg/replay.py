"""Replaying table operations inside one pyiceberg transaction; the writer checks the line
first. Each step is translated as it stands: nothing here compares with a spec."""

from __future__ import annotations

from pyiceberg.table import Transaction
from pyiceberg.table.update.schema import UpdateSchema
from pyiceberg.transforms import parse_transform

from reconciler.model.tables import PartitionField, SortField
from reconciler.plan.table_ops import OpKind, TableOp
from reconciler.providers.iceberg.types import iceberg_type, model_partition, null_order, primitive

_SCHEMA_OPS = {
    OpKind.ADD_COLUMN,
    OpKind.RENAME_COLUMN,
    OpKind.UPDATE_TYPE,
    OpKind.MAKE_OPTIONAL,
    OpKind.MAKE_REQUIRED,
    OpKind.UPDATE_DOC,
    OpKind.DELETE_COLUMN,
    OpKind.MOVE_COLUMNS,
}


def apply_ops(tx: Transaction, ops: tuple[TableOp, ...], unsafe: bool) -> None:
    schema_ops = [op for op in ops if op.kind in _SCHEMA_OPS]
    if schema_ops:
        with tx.update_schema(allow_incompatible_changes=unsafe) as update:
            for op in schema_ops:
                _schema_op(update, op)
    for op in ops:
        if op.kind is OpKind.SET_PARTITION:
            set_partition(tx, op.partition_by)
        elif op.kind is OpKind.SET_SORT:
            set_sort(tx, op.sort_by)
    updates = {op.path[0]: op.value or "" for op in ops if op.kind is OpKind.SET_PROPERTY}
    if updates:
        tx.set_properties(updates)
    removals = [op.path[0] for op in ops if op.kind is OpKind.REMOVE_PROPERTY]
    if removals:
        tx.remove_properties(*removals)
    for op in ops:
        if op.kind is OpKind.UPGRADE_FORMAT and op.format_version is not None:
            tx.upgrade_table_version(op.format_version)  # type: ignore[arg-type]


def _schema_op(update: UpdateSchema, op: TableOp) -> None:
    if op.kind is OpKind.ADD_COLUMN:
        assert op.column_type is not None
        update.add_column(op.path, iceberg_type(op.column_type), op.doc, op.required)
    elif op.kind is OpKind.RENAME_COLUMN:
        assert op.new_name is not None
        update.rename_column(op.path, op.new_name)
    elif op.kind is OpKind.UPDATE_TYPE:
        assert op.column_type is not None
        update.update_column(op.path, field_type=primitive(str(op.column_type)))
    elif op.kind is OpKind.MAKE_OPTIONAL:
        update.make_column_optional(op.path)
    elif op.kind is OpKind.MAKE_REQUIRED:
        update.update_column(op.path, required=True)
    elif op.kind is OpKind.UPDATE_DOC:
        update.update_column(op.path, doc=op.doc)
    elif op.kind is OpKind.DELETE_COLUMN:
        update.delete_column(op.path)
    elif op.kind is OpKind.MOVE_COLUMNS:
        first, *rest = op.names
        update.move_first((*op.path, first))
        previous = first
        for name in rest:
            update.move_after((*op.path, name), (*op.path, previous))
            previous = name


def set_partition(tx: Transaction, partition_by: tuple[PartitionField, ...]) -> None:
    """Evolve the partition spec to `partition_by`, against the transaction's schema
    (so renames made earlier in the same transaction are seen)."""
    meta = tx.table_metadata
    have = [f for f in model_partition(meta.spec(), meta.schema()) if f.transform != "void"]
    want = [f for f in partition_by if f.transform != "void"]
    wanted = {(f.source, f.transform): f for f in want}
    present = {(f.source, f.transform): f for f in have}
    with tx.update_spec() as update:
        for key, field in present.items():
            if key not in wanted:
                update.remove_field(field.name or "")
            elif (name := wanted[key].name) and name != field.name:
                update.rename_field(field.name or "", name)
        for key, field in wanted.items():
            if key not in present:
                update.add_field(field.source, parse_transform(field.transform), field.name)


def set_sort(tx: Transaction, sort_by: tuple[SortField, ...]) -> None:
    with tx.update_sort_order() as update:
        for f in sort_by:
            add = update.asc if f.direction.value == "asc" else update.desc
            add(f.source, parse_transform(f.transform), null_order(f.nulls))
