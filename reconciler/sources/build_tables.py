"""Schema-valid `kind: Table` documents -> model.TableSpec, plus cross-table rules; no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from reconciler.model.containers import DriftMode, SourceRef
from reconciler.model.tables import (
    DEFAULT_PROPERTIES,
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
    TableSpec,
)
from reconciler.sources.build_containers import normalise_ref
from reconciler.sources.documents import Built, Document, PathKey, Problems, SpecError

_DECIMAL = re.compile(r"decimal\( *([0-9]+) *, *([0-9]+) *\)")
_TIME_TYPES = {"date", "timestamp", "timestamptz"}
_BUCKETABLE = {
    "int",
    "long",
    "date",
    "time",
    "timestamp",
    "timestamptz",
    "string",
    "uuid",
    "binary",
}
_TRUNCATABLE = {"int", "long", "string", "binary"}
MAX_DECIMAL_PRECISION = 38


def parse_type(problems: Problems, path: PathKey, value: Any) -> IcebergType:
    """Spec type (string or {struct|list|map}) -> model type; problems reported, never raised."""
    if isinstance(value, str):
        match = _DECIMAL.fullmatch(value.strip())
        if match:
            precision, scale = int(match.group(1)), int(match.group(2))
            if not 1 <= precision <= MAX_DECIMAL_PRECISION or scale > precision:
                problems.add(path, f"invalid {value!r}: need 1 <= P <= 38 and S <= P")
            return PrimitiveType(f"decimal({precision},{scale})")
        return PrimitiveType(value.strip())
    if "struct" in value:
        return StructType(parse_fields(problems, (*path, "struct"), value["struct"]))
    if "list" in value:
        element = parse_type(problems, (*path, "list"), value["list"])
        return ListType(element, bool(value.get("elementRequired", False)))
    inner = value["map"]
    key = parse_type(problems, (*path, "map", "key"), inner["key"])
    if not isinstance(key, PrimitiveType):
        problems.add((*path, "map", "key"), "map keys must be a primitive type")
    return MapType(
        key,
        parse_type(problems, (*path, "map", "value"), inner["value"]),
        bool(inner.get("valueRequired", False)),
    )


def parse_fields(
    problems: Problems, path: PathKey, items: list[dict[str, Any]]
) -> tuple[ColumnSpec, ...]:
    columns: list[ColumnSpec] = []
    names: set[str] = set()
    for index, item in enumerate(items):
        name = item.get("name")
        if name is None or "type" not in item:
            continue  # the schema reports it
        if name in names:
            problems.add((*path, index, "name"), f"column {name!r} is listed twice")
        names.add(name)
        columns.append(
            ColumnSpec(
                name=name,
                type=parse_type(problems, (*path, index, "type"), item["type"]),
                required=bool(item.get("required", False)),
                doc=item.get("doc"),
                id=item.get("id"),
                renamed_from=item.get("renamedFrom"),
            )
        )
    for index, item in enumerate(items):
        old = item.get("renamedFrom")
        if old is not None and old in names:
            problems.add(
                (*path, index, "renamedFrom"),
                f"renamedFrom {old!r} is also a column here; a rename needs a free old name",
            )
    return tuple(columns)


def find_column(columns: tuple[ColumnSpec, ...], dotted: str) -> ColumnSpec | None:
    """`customer.id` -> that nested column (through structs only), or None."""
    current: tuple[ColumnSpec, ...] = columns
    found: ColumnSpec | None = None
    for part in dotted.split("."):
        found = next((c for c in current if c.name == part), None)
        if found is None:
            return None
        current = found.type.fields if isinstance(found.type, StructType) else ()
    return found


def _transform_fits(transform: str, column_type: IcebergType) -> bool:
    if not isinstance(column_type, PrimitiveType):
        return transform == "void"
    name = column_type.name
    base = transform.split("[", 1)[0]
    if base in ("identity", "void"):
        return True
    if base in ("year", "month", "day"):
        return name in _TIME_TYPES
    if base == "hour":
        return name in ("timestamp", "timestamptz")
    if base == "bucket":
        return name in _BUCKETABLE or name.startswith(("decimal", "fixed"))
    return name in _TRUNCATABLE or name.startswith("decimal")  # truncate


def _check_source(
    problems: Problems, path: PathKey, columns: tuple[ColumnSpec, ...], source: str, transform: str
) -> None:
    column = find_column(columns, source)
    if column is None:
        problems.add((*path, "source"), f"no column {source!r} in spec.schema")
    elif not _transform_fits(transform, column.type):
        problems.add(
            (*path, "transform"), f"{transform} cannot be applied to {source} ({column.type})"
        )


def _properties(spec: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    props = {k: _text(v) for k, v in spec.get("properties", {}).items()}
    removed = set(spec.get("propertiesRemove", ()))
    for key, value in DEFAULT_PROPERTIES:
        if key not in removed:
            props.setdefault(key, value)
    return tuple(sorted(props.items()))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_table(doc: Document, problems: Problems) -> TableSpec | None:
    """A Table document -> TableSpec, every problem reported through `problems`;
    None when a required key is missing (the schema reports that)."""
    spec: dict[str, Any] = doc.data["spec"]
    columns = parse_fields(problems, ("spec", "schema"), spec.get("schema", []))
    partition = []
    for index, item in enumerate(spec.get("partitionBy", ())):
        if "source" not in item or "transform" not in item:
            continue  # the schema reports it
        _check_source(
            problems, ("spec", "partitionBy", index), columns, item["source"], item["transform"]
        )
        partition.append(PartitionField(item["source"], item["transform"], item.get("name")))
    sort = []
    for index, item in enumerate(spec.get("sortBy", ())):
        if "source" not in item:
            continue  # the schema reports it
        transform = item.get("transform", "identity")
        _check_source(problems, ("spec", "sortBy", index), columns, item["source"], transform)
        direction = SortDirection(item.get("direction", "asc"))
        default_nulls = "first" if direction is SortDirection.ASC else "last"
        sort.append(
            SortField(
                item["source"], transform, direction, NullOrder(item.get("nulls", default_nulls))
            )
        )
    overlap = set(spec.get("properties", {})) & set(spec.get("propertiesRemove", ()))
    for key in sorted(overlap):
        problems.add(("spec", "propertiesRemove"), f"{key!r} is both set in properties and removed")
    required = ("catalog", "namespace", "name", "schema")
    if "name" not in doc.data["metadata"] or any(key not in spec for key in required):
        return None
    return TableSpec(
        catalog=spec["catalog"],
        namespace=tuple(spec["namespace"].split(".")),
        name=spec["name"],
        fields=columns,
        partition_by=tuple(partition),
        sort_by=tuple(sort),
        properties=_properties(spec),
        properties_remove=tuple(spec.get("propertiesRemove", ())),
        location=spec.get("location"),
        policy=spec.get("policy"),
        allow_destructive=bool(spec.get("allowDestructive", False)),
        absent=spec.get("state", "present") == "absent",
        depends_on=tuple(normalise_ref(ref) for ref in spec.get("dependsOn", ())),
        drift=DriftMode(spec.get("drift", "enforce")),
        format_version=int(spec.get("formatVersion", 2)),
        metadata_name=doc.data["metadata"]["name"],
        labels=tuple(sorted(doc.data["metadata"].get("labels", {}).items())),
        source=SourceRef(doc.file, doc.line),
    )


def check_tables(built: Sequence[Built]) -> Iterable[SpecError]:
    """Across Table specs: each table (catalog.namespace.name) is declared once."""
    seen: dict[str, str] = {}
    for item in built:
        spec: TableSpec = item.spec
        first = seen.setdefault(spec.address, item.doc.data["metadata"]["name"])
        if first != item.doc.data["metadata"]["name"]:
            yield item.doc.error(
                ("spec", "name"), f"{spec.address} is also declared by Table {first!r}"
            )
    yield from _overlapping_locations(built)


def _overlapping_locations(built: Sequence[Built]) -> Iterable[SpecError]:
    """Explicit locations must not nest: orphan-file removal in the outer table would
    take the inner table's files for orphans."""
    located = [(item, item.spec.location.rstrip("/") + "/") for item in built if item.spec.location]
    for item, path in located:
        for other, other_path in located:
            if other is not item and (path == other_path or path.startswith(other_path)):
                yield item.doc.error(
                    ("spec", "location"),
                    f"{item.spec.location} is inside the location of {other.spec.address}; "
                    "table locations must not overlap",
                )
                break
