"""Table operations as data (TableOp, CreateTable, DropTable) and type rules; pure, no pyiceberg.

The differ produces them and carries them in the plan line; the Iceberg writer replays
them as they stand inside one transaction (it never re-derives them from a spec). Paths
use the names a table has before that transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.model.tables import (
    ColumnSpec,
    IcebergType,
    PartitionField,
    PrimitiveType,
    SortField,
)
from reconciler.plan.change import FieldChange, JSONValue, Operation
from reconciler.plan.table_codec import (
    decode_column,
    decode_partition,
    decode_sort,
    decode_type,
    encode_column,
    encode_partition,
    encode_sort,
    encode_type,
)

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


_NO_CHANGE = FieldChange("", None, None)


@dataclass(frozen=True)
class TableOp:
    """One evolution step. `path` uses the names the table has *before* the
    transaction (old names for renamed columns), as pyiceberg expects.

    `change` and `why` are the step's display (the plan line's field and reason): they
    are not part of the instruction, so they are neither encoded nor compared."""

    kind: OpKind
    change: FieldChange = field(default=_NO_CHANGE, compare=False)
    why: str = field(default="", compare=False)
    path: tuple[str, ...] = ()
    destructive: bool = False
    column_type: IcebergType | None = None
    required: bool = False
    doc: str | None = None
    new_name: str | None = None
    names: tuple[str, ...] = ()
    value: str | None = None
    partition_by: tuple[PartitionField, ...] = ()  # set_partition: the whole new spec
    sort_by: tuple[SortField, ...] = ()  # set_sort: the whole new order (empty: unsorted)
    format_version: int | None = None  # upgrade_format: the version to reach

    @property
    def impossible(self) -> bool:
        return self.kind is OpKind.IMPOSSIBLE

    def to_dict(self) -> dict[str, JSONValue]:
        doc: dict[str, JSONValue] = {"op": self.kind.value, "path": list(self.path)}
        if self.destructive:
            doc["destructive"] = True
        if self.column_type is not None:
            doc["type"] = encode_type(self.column_type)
        if self.required:
            doc["required"] = True
        for key, text in (("doc", self.doc), ("new_name", self.new_name), ("value", self.value)):
            if text is not None:
                doc[key] = text
        if self.names:
            doc["names"] = list(self.names)
        if self.kind is OpKind.SET_PARTITION:
            doc["partition_by"] = [encode_partition(f) for f in self.partition_by]
        if self.kind is OpKind.SET_SORT:
            doc["sort_by"] = [encode_sort(f) for f in self.sort_by]
        if self.format_version is not None:
            doc["format_version"] = self.format_version
        return doc


def _strings(doc: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} is not a list of strings")
    return tuple(value)


def _text(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value


def _items(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"{key} is not a list")
    return value


def _version(doc: Mapping[str, Any]) -> int | None:
    value = doc.get("format_version")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError("format_version is not an integer")
    return value


def decode_table_op(doc: Mapping[str, Any]) -> TableOp:
    kind = OpKind(doc["op"])
    return TableOp(
        kind,
        path=_strings(doc, "path"),
        destructive=doc.get("destructive") is True,
        column_type=decode_type(doc["type"]) if "type" in doc else None,
        required=doc.get("required") is True,
        doc=_text(doc, "doc"),
        new_name=_text(doc, "new_name"),
        names=_strings(doc, "names"),
        value=_text(doc, "value"),
        partition_by=tuple(decode_partition(f) for f in _items(doc, "partition_by")),
        sort_by=tuple(decode_sort(f) for f in _items(doc, "sort_by")),
        format_version=_version(doc),
    )


@dataclass(frozen=True)
class CreateTable:
    """A `create` line's instruction: the whole table as data (the namespace is created if
    missing). `properties` are exactly those the new table gets, ownership marker included."""

    columns: tuple[ColumnSpec, ...]
    partition_by: tuple[PartitionField, ...] = ()
    sort_by: tuple[SortField, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()
    location: str | None = None
    format_version: int = 2

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "op": "create_table",
            "schema": [encode_column(c) for c in self.columns],
            "partition_by": [encode_partition(f) for f in self.partition_by],
            "sort_by": [encode_sort(f) for f in self.sort_by],
            "properties": dict(self.properties),
            "location": self.location,
            "format_version": self.format_version,
        }


def _decode_create(doc: Mapping[str, Any]) -> CreateTable:
    props = doc.get("properties", {})
    if not isinstance(props, dict) or not all(isinstance(v, str) for v in props.values()):
        raise ValueError("properties is not a map of strings")
    version = _version(doc)
    return CreateTable(
        columns=tuple(decode_column(c) for c in _items(doc, "schema")),
        partition_by=tuple(decode_partition(f) for f in _items(doc, "partition_by")),
        sort_by=tuple(decode_sort(f) for f in _items(doc, "sort_by")),
        properties=tuple(sorted(props.items())),
        location=_text(doc, "location"),
        format_version=2 if version is None else version,
    )


@dataclass(frozen=True)
class DropTable:
    """A `delete` line's instruction: drop the catalog entry; data files are never purged."""

    def to_dict(self) -> dict[str, JSONValue]:
        return {"op": "drop_table", "purge": False}


def _decode_drop(doc: Mapping[str, Any]) -> DropTable:
    if doc.get("purge", False) is not False:
        raise ValueError("a table drop never purges files")
    return DropTable()


def table_identity(address: str) -> tuple[str, tuple[str, ...], str]:
    """(catalog, namespace parts, name) of `table/<catalog>.<ns...>.<name>` (no part holds
    a dot: the schemas forbid it)."""
    parts = address.removeprefix("table/").split(".")
    if not address.startswith("table/") or len(parts) < 3 or not all(parts):
        raise ValueError(f"not a table address: {address!r}")
    return parts[0], tuple(parts[1:-1]), parts[-1]


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


# JSON name ("op") -> rebuild one from its dict (see plan.operations).
DECODERS: Mapping[str, Callable[[Mapping[str, Any]], Operation]] = {
    **{kind.value: decode_table_op for kind in OpKind if kind is not OpKind.IMPOSSIBLE},
    "create_table": _decode_create,
    "drop_table": _decode_drop,
}
