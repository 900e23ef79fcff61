"""Field-level comparison of two Iceberg schemas into TableOps; pure, no pyiceberg.

A rename is only recognised through `renamed_from`; anything else that
disappears is a drop. Widening follows the Iceberg spec's promotions.
"""

from __future__ import annotations

from reconciler.model.tables import (
    ColumnSpec,
    IcebergType,
    ListType,
    MapType,
    PrimitiveType,
    StructType,
)
from reconciler.plan.change import FieldChange
from reconciler.plan.table_ops import OpKind, TableOp, column_doc, type_text, widens


def diff_schema(
    desired: tuple[ColumnSpec, ...], observed: tuple[ColumnSpec, ...]
) -> tuple[tuple[TableOp, ...], dict[str, str]]:
    """All ops turning `observed` into `desired`, and old->new top-level-path renames."""
    ops: list[TableOp] = []
    renames: dict[str, str] = {}
    _diff_struct((), (), desired, observed, ops, renames)
    return tuple(ops), renames


def _show(parts: tuple[str, ...]) -> str:
    return ".".join(("schema", *parts))


def _diff_struct(
    old_prefix: tuple[str, ...],
    new_prefix: tuple[str, ...],
    desired: tuple[ColumnSpec, ...],
    observed: tuple[ColumnSpec, ...],
    ops: list[TableOp],
    renames: dict[str, str],
) -> None:
    by_name = {c.name: c for c in observed}
    matched: set[str] = set()
    move_names: list[tuple[str, bool]] = []  # (name before the transaction, newly added)
    for want in desired:
        have = by_name.get(want.name)
        if have is None and want.renamed_from and want.renamed_from in by_name:
            have = by_name[want.renamed_from]
            if want.name not in by_name:
                ops.append(_rename(old_prefix, new_prefix, have.name, want.name))
                renames[".".join((*old_prefix, have.name))] = ".".join((*new_prefix, want.name))
        if have is None or have.name in matched:
            ops.append(_add(old_prefix, new_prefix, want))
            move_names.append((want.name, True))
            continue
        matched.add(have.name)
        move_names.append((have.name, False))
        _diff_column((*old_prefix, have.name), (*new_prefix, want.name), want, have, ops, renames)
    for have in observed:
        if have.name not in matched:
            ops.append(
                TableOp(
                    OpKind.DELETE_COLUMN,
                    FieldChange(_show((*new_prefix, have.name)), column_doc(have), None),
                    f"drop column {'.'.join((*new_prefix, have.name))}: "
                    "its data becomes unreadable (a rename needs renamedFrom)",
                    path=(*old_prefix, have.name),
                    destructive=True,
                )
            )
    added = [n for n, is_new in move_names if is_new]
    result = [c.name for c in observed if c.name in matched] + added
    wanted = [n for n, _ in move_names]
    if result != wanted:
        ops.append(
            TableOp(
                OpKind.MOVE_COLUMNS,
                FieldChange(
                    _show(new_prefix) + "(order)",
                    [c.name for c in observed],
                    [c.name for c in desired],
                ),
                "reorder columns: metadata only, readers resolve columns by id",
                path=old_prefix,
                names=tuple(wanted),
            )
        )


def _rename(
    old_prefix: tuple[str, ...], new_prefix: tuple[str, ...], old: str, new: str
) -> TableOp:
    return TableOp(
        OpKind.RENAME_COLUMN,
        FieldChange(_show((*new_prefix, new)) + ".name", old, new),
        f"rename {old} -> {new} (renamedFrom): columns are tracked by id, data is kept",
        path=(*old_prefix, old),
        new_name=new,
    )


def _add(old_prefix: tuple[str, ...], new_prefix: tuple[str, ...], want: ColumnSpec) -> TableOp:
    shown = ".".join((*new_prefix, want.name))
    if want.required:
        why = f"add required column {shown}: existing rows have no value for it (add it optional)"
    else:
        why = f"add optional column {shown}: existing rows read null"
    return TableOp(
        OpKind.ADD_COLUMN,
        FieldChange(_show((*new_prefix, want.name)), None, column_doc(want)),
        why,
        path=(*old_prefix, want.name),
        destructive=want.required,
        column_type=want.type,
        required=want.required,
        doc=want.doc,
    )


def _diff_column(
    old_path: tuple[str, ...],
    new_path: tuple[str, ...],
    want: ColumnSpec,
    have: ColumnSpec,
    ops: list[TableOp],
    renames: dict[str, str],
) -> None:
    shown = _show(new_path)
    if want.id is not None and have.id is not None and want.id != have.id:
        ops.append(
            TableOp(
                OpKind.IMPOSSIBLE,
                FieldChange(shown + ".id", have.id, want.id),
                f"field ids never change: {'.'.join(new_path)} has id {have.id}",
                path=old_path,
            )
        )
    _diff_type(old_path, new_path, want.type, have.type, ops, renames)
    if have.required and not want.required:
        ops.append(
            TableOp(
                OpKind.MAKE_OPTIONAL,
                FieldChange(shown + ".required", True, False),
                "required -> optional: every existing row still conforms",
                path=old_path,
            )
        )
    elif want.required and not have.required:
        ops.append(
            TableOp(
                OpKind.MAKE_REQUIRED,
                FieldChange(shown + ".required", False, True),
                "optional -> required: existing rows may hold nulls",
                path=old_path,
                destructive=True,
            )
        )
    if want.doc is not None and want.doc != have.doc:
        ops.append(
            TableOp(
                OpKind.UPDATE_DOC,
                FieldChange(shown + ".doc", have.doc, want.doc),
                "doc change: metadata only",
                path=old_path,
                doc=want.doc,
            )
        )


def _diff_type(
    old_path: tuple[str, ...],
    new_path: tuple[str, ...],
    want: IcebergType,
    have: IcebergType,
    ops: list[TableOp],
    renames: dict[str, str],
) -> None:
    if isinstance(want, StructType) and isinstance(have, StructType):
        _diff_struct(old_path, new_path, want.fields, have.fields, ops, renames)
        return
    if isinstance(want, ListType) and isinstance(have, ListType):
        _diff_inner(old_path, new_path, "element", want.element, have.element, ops, renames)
        _diff_inner_required(
            old_path, new_path, "element", want.element_required, have.element_required, ops
        )
        return
    if isinstance(want, MapType) and isinstance(have, MapType):
        if want.key != have.key:
            ops.append(
                TableOp(
                    OpKind.IMPOSSIBLE,
                    FieldChange(_show(new_path) + ".key", str(have.key), str(want.key)),
                    "map key types cannot change",
                    path=old_path,
                )
            )
        _diff_inner(old_path, new_path, "value", want.value, have.value, ops, renames)
        _diff_inner_required(
            old_path, new_path, "value", want.value_required, have.value_required, ops
        )
        return
    if want == have:
        return
    change = FieldChange(_show(new_path) + ".type", type_text(have), type_text(want))
    if isinstance(want, PrimitiveType) and isinstance(have, PrimitiveType):
        if widens(have, want):
            why = f"widen {have} -> {want}: an allowed Iceberg type promotion"
            ops.append(TableOp(OpKind.UPDATE_TYPE, change, why, path=old_path, column_type=want))
            return
        # Never an opt-in: a narrowed column makes every later scan fail ("Cannot promote").
        why = (
            f"type change {have} -> {want} is not a promotion: {PROMOTION_RULE}; "
            "refused always, not even run as a destructive change (allowDestructive and "
            "--allow-destructive do not apply)"
        )
        ops.append(TableOp(OpKind.IMPOSSIBLE, change, why, path=old_path))
        return
    ops.append(
        TableOp(
            OpKind.IMPOSSIBLE,
            change,
            "a nested type cannot change kind in place: drop the column and add a new one",
            path=old_path,
        )
    )


PROMOTION_RULE = "Iceberg allows only int→long, float→double, decimal(P,S)→decimal(P',S) with P'>P"


def _diff_inner(
    old_path: tuple[str, ...],
    new_path: tuple[str, ...],
    part: str,
    want: IcebergType,
    have: IcebergType,
    ops: list[TableOp],
    renames: dict[str, str],
) -> None:
    _diff_type((*old_path, part), (*new_path, part), want, have, ops, renames)


def _diff_inner_required(
    old_path: tuple[str, ...],
    new_path: tuple[str, ...],
    part: str,
    want: bool,
    have: bool,
    ops: list[TableOp],
) -> None:
    if want == have:
        return
    shown = _show((*new_path, part)) + ".required"
    if have and not want:
        ops.append(
            TableOp(
                OpKind.MAKE_OPTIONAL,
                FieldChange(shown, True, False),
                f"{part} required -> optional: existing values still conform",
                path=(*old_path, part),
            )
        )
    else:
        ops.append(
            TableOp(
                OpKind.MAKE_REQUIRED,
                FieldChange(shown, False, True),
                f"{part} optional -> required: existing values may be null",
                path=(*old_path, part),
                destructive=True,
            )
        )
