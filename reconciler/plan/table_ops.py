"""Table evolution steps as data (TableOp) and type rules; pure, no pyiceberg.

The differ produces TableOps; the Iceberg writer replays them inside one
transaction. Paths use the names a table has before that transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.model.tables import ColumnSpec, IcebergType, PrimitiveType
from reconciler.plan.change import FieldChange, JSONValue, Operation

_DECIMAL = re.compile(r"^decimal\((\d+),(\d+)\)$")
_PROMOTIONS = {("int", "long"), ("float", "double")}


class OpKind(StrEnum):
    ADD_COLUMN = "add_column"
    RENAME_COLUMN = "rename_column"
    UPDATE_TYPE = "update_type"
    MAKE_OPTIONAL = "make_optional"
    MAKE_REQUIRED = "make_required"
    UPDATE_DOC = "update_doc"
    DELETE_COLUMN = "delete_column"
    MOVE_COLUMNS = "move_columns"
    SET_PARTITION = "set_partition"
    SET_SORT = "set_sort"
    SET_PROPERTY = "set_property"
    REMOVE_PROPERTY = "remove_property"
    UPGRADE_FORMAT = "upgrade_format"
    IMPOSSIBLE = "impossible"  # never executes, not even with allowDestructive


@dataclass(frozen=True)
class TableOp:
    """One evolution step. `path` uses the names the table has *before* the
    transaction (old names for renamed columns), as pyiceberg expects."""

    kind: OpKind
    change: FieldChange
    why: str
    path: tuple[str, ...] = ()
    destructive: bool = False
    column_type: IcebergType | None = None
    required: bool = False
    doc: str | None = None
    new_name: str | None = None
    names: tuple[str, ...] = ()
    value: str | None = None

    @property
    def impossible(self) -> bool:
        return self.kind is OpKind.IMPOSSIBLE


def type_text(value: IcebergType) -> str:
    return str(value)


def column_doc(column: ColumnSpec) -> dict[str, JSONValue]:
    doc: dict[str, JSONValue] = {"type": type_text(column.type), "required": column.required}
    if column.doc:
        doc["doc"] = column.doc
    return doc


def widens(before: PrimitiveType, after: PrimitiveType) -> bool:
    """True when the Iceberg spec allows promoting `before` to `after` in place."""
    if (before.name, after.name) in _PROMOTIONS:
        return True
    old, new = _DECIMAL.match(before.name), _DECIMAL.match(after.name)
    if old and new:
        return int(new.group(2)) == int(old.group(2)) and int(new.group(1)) > int(old.group(1))
    return False


# JSON name ("op") -> rebuild one from its dict (see plan.operations); empty until
# TableOp carries its own encoding.
DECODERS: Mapping[str, Callable[[Mapping[str, Any]], Operation]] = {}
