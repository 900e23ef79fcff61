"""JSON form of the table model values that table operations carry (types, columns,
partition and sort fields); pure, round-trips exactly (`decode(encode(x)) == x`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.model.tables import (
    ColumnSpec,
    IcebergType,
    ListType,
    MapType,
    NullOrder,
    PartitionField,
    PrimitiveType,
    SortDirection,
    SortField,
    StructType,
)
from reconciler.plan.change import JSONValue


def encode_type(value: IcebergType) -> JSONValue:
    """`"long"`, `{"struct": [...]}`, `{"list": T, ...}` or `{"map": {"key": K, "value": V}, ...}`;
    field ids and required flags of nested elements are kept."""
    if isinstance(value, PrimitiveType):
        return value.name
    if isinstance(value, StructType):
        return {"struct": [encode_column(c) for c in value.fields]}
    if isinstance(value, ListType):
        doc: dict[str, JSONValue] = {
            "list": encode_type(value.element),
            "element_required": value.element_required,
        }
        if value.element_id is not None:
            doc["element_id"] = value.element_id
        return doc
    doc = {
        "map": {"key": encode_type(value.key), "value": encode_type(value.value)},
        "value_required": value.value_required,
    }
    if value.key_id is not None:
        doc["key_id"] = value.key_id
    if value.value_id is not None:
        doc["value_id"] = value.value_id
    return doc


def _optional_int(doc: Mapping[str, Any], key: str) -> int | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} is not an integer: {value!r}")
    return value


def _flag(doc: Mapping[str, Any], key: str) -> bool:
    value = doc.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key} is not a boolean: {value!r}")
    return value


def decode_type(doc: object) -> IcebergType:
    if isinstance(doc, str):
        return PrimitiveType(doc)
    if not isinstance(doc, dict):
        raise ValueError(f"not a type: {doc!r}")
    if "struct" in doc:
        fields = doc["struct"]
        if not isinstance(fields, list):
            raise ValueError("struct fields are not a list")
        return StructType(tuple(decode_column(f) for f in fields))
    if "list" in doc:
        return ListType(
            decode_type(doc["list"]),
            _flag(doc, "element_required"),
            _optional_int(doc, "element_id"),
        )
    if "map" in doc and isinstance(doc["map"], dict):
        return MapType(
            decode_type(doc["map"]["key"]),
            decode_type(doc["map"]["value"]),
            _flag(doc, "value_required"),
            _optional_int(doc, "key_id"),
            _optional_int(doc, "value_id"),
        )
    raise ValueError(f"not a type: {doc!r}")


def encode_column(column: ColumnSpec) -> dict[str, JSONValue]:
    doc: dict[str, JSONValue] = {
        "name": column.name,
        "type": encode_type(column.type),
        "required": column.required,
    }
    for key, value in (
        ("doc", column.doc),
        ("id", column.id),
        ("renamed_from", column.renamed_from),
    ):
        if value is not None:
            doc[key] = value
    return doc


def _optional_str(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key} is not a string: {value!r}")
    return value


def decode_column(doc: object) -> ColumnSpec:
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str):
        raise ValueError(f"not a column: {doc!r}")
    return ColumnSpec(
        name=doc["name"],
        type=decode_type(doc["type"]),
        required=_flag(doc, "required"),
        doc=_optional_str(doc, "doc"),
        id=_optional_int(doc, "id"),
        renamed_from=_optional_str(doc, "renamed_from"),
    )


def encode_partition(field: PartitionField) -> dict[str, JSONValue]:
    doc: dict[str, JSONValue] = {"source": field.source, "transform": field.transform}
    if field.name is not None:
        doc["name"] = field.name
    return doc


def decode_partition(doc: object) -> PartitionField:
    if not isinstance(doc, dict) or not isinstance(doc.get("source"), str):
        raise ValueError(f"not a partition field: {doc!r}")
    return PartitionField(doc["source"], str(doc["transform"]), _optional_str(doc, "name"))


def encode_sort(field: SortField) -> dict[str, JSONValue]:
    return {
        "source": field.source,
        "transform": field.transform,
        "direction": field.direction.value,
        "nulls": field.nulls.value,
    }


def decode_sort(doc: object) -> SortField:
    if not isinstance(doc, dict) or not isinstance(doc.get("source"), str):
        raise ValueError(f"not a sort field: {doc!r}")
    return SortField(
        doc["source"],
        str(doc["transform"]),
        SortDirection(doc["direction"]),
        NullOrder(doc["nulls"]),
    )
