"""Row checksums that ignore row order, and backup-to-table schema matching by field id."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.schema import Schema
from pyiceberg.types import (
    DecimalType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StructType,
)

CHECKSUM = "sum64-sha256-rows/1"
_MASK = (1 << 64) - 1


Canon = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _float(value: Any) -> Any:
    if value is None:
        return None
    return "f:nan" if math.isnan(value) else f"f:{value!r}"


def _binary(value: Any) -> Any:
    return None if value is None else "b:" + value.hex()


def _tagged(value: Any) -> Any:  # date, time, timestamp, decimal, uuid: their str() is exact
    return None if value is None else f"{type(value).__name__}:{value}"


def canon_for(kind: pa.DataType) -> Canon:
    """A JSON-able form of one value of `kind` that does not depend on names or map order:
    struct fields by position (renames keep the checksum), map entries sorted, floats by
    their double value (a float column promoted to double keeps it)."""
    if pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _same
    if pa.types.is_boolean(kind) or pa.types.is_null(kind):
        return _same
    if pa.types.is_floating(kind):
        return _float
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return _binary
    if pa.types.is_fixed_size_binary(kind):
        return _binary
    if pa.types.is_struct(kind):
        parts = [
            (kind.field(i).name, canon_for(kind.field(i).type)) for i in range(kind.num_fields)
        ]
        return lambda v: None if v is None else [f(v[name]) for name, f in parts]
    if pa.types.is_map(kind):
        key, item = canon_for(kind.key_type), canon_for(kind.item_type)
        return lambda v: (
            None if v is None else sorted(([key(k), item(x)] for k, x in v), key=json.dumps)
        )
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        element = canon_for(kind.value_type)
        return lambda v: None if v is None else [element(x) for x in v]
    return _tagged


@dataclass
class RowChecksum:
    """Sum modulo 2^64 of the first 8 bytes of each row's SHA-256: any row order, duplicates
    counted; rows are the columns in order (pass them in the backup's order)."""

    rows: int = 0
    total: int = 0

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        columns = []
        for column in batch.columns:
            kind = column.type
            if pa.types.is_temporal(kind) or pa.types.is_decimal(kind):
                # Vectorised: Arrow's text of a date, time, timestamp or decimal is exact.
                columns.append(pc.cast(column, pa.string()).to_pylist())
                continue
            canon = canon_for(kind)
            values = column.to_pylist()
            columns.append(values if canon is _same else [canon(v) for v in values])
        for row in zip(*columns, strict=True):
            text = json.dumps(row, separators=(",", ":"), ensure_ascii=False)
            digest = hashlib.sha256(text.encode()).digest()
            self.total = (self.total + int.from_bytes(digest[:8], "big")) & _MASK
        self.rows += batch.num_rows

    @property
    def value(self) -> str:
        return f"{self.total:016x}"


def checksum(batches: Iterable[pa.RecordBatch | pa.Table]) -> RowChecksum:
    result = RowChecksum()
    for batch in batches:
        result.add(batch)
    return result


def _promotable(old: IcebergType, new: IcebergType) -> bool:
    if old == new:
        return True
    if isinstance(old, IntegerType) and isinstance(new, LongType):
        return True
    if isinstance(old, FloatType) and isinstance(new, DoubleType):
        return True
    return (
        isinstance(old, DecimalType)
        and isinstance(new, DecimalType)
        and old.scale == new.scale
        and new.precision >= old.precision
    )


def _same_shape(old: IcebergType, new: IcebergType, where: str) -> str | None:
    """Why `old` data cannot be written as `new` (nested fields matched by id), or None."""
    if isinstance(old, StructType) and isinstance(new, StructType):
        old_ids = [f.field_id for f in old.fields]
        new_ids = [f.field_id for f in new.fields]
        if old_ids != new_ids:
            return (
                f"{where}: its struct fields changed since the backup (only renames are restored)"
            )
        for a, b in zip(old.fields, new.fields, strict=True):
            if (why := _same_shape(a.field_type, b.field_type, f"{where}.{b.name}")) is not None:
                return why
        return None
    if isinstance(old, ListType) and isinstance(new, ListType):
        return _same_shape(old.element_type, new.element_type, f"{where}.element")
    if isinstance(old, MapType) and isinstance(new, MapType):
        return _same_shape(old.key_type, new.key_type, f"{where}.key") or _same_shape(
            old.value_type, new.value_type, f"{where}.value"
        )
    if old.is_primitive and new.is_primitive and _promotable(old, new):
        return None
    return f"{where}: type changed from {old} to {new} since the backup, not a safe promotion"


def compatibility(backup: Schema, current: Schema) -> list[str]:
    """Reasons the backup cannot be restored into a table of `current` schema ([] if it can).

    Columns match by field id: renamed columns take their data; columns added since must be
    optional (null-filled); a dropped column or an unsafe type change refuses."""
    reasons: list[str] = []
    current_ids = {f.field_id: f for f in current.fields}
    for field in backup.fields:
        now = current_ids.get(field.field_id)
        if now is None:
            reasons.append(
                f"column {field.name!r} (field id {field.field_id}) was dropped since the "
                "backup: restoring would lose its data (restore into a new table with --as)"
            )
            continue
        why = _same_shape(field.field_type, now.field_type, repr(now.name))
        if why is not None:
            reasons.append(why)
    backup_ids = {f.field_id for f in backup.fields}
    for field in current.fields:
        if field.field_id not in backup_ids and field.required:
            reasons.append(
                f"column {field.name!r} was added as required since the backup: its rows have "
                "no value for it"
            )
    return reasons


def conform(array: pa.Array, target: pa.DataType) -> pa.Array:
    """`array` as `target`: nested fields by position (renames), primitives cast (promotion)."""
    if array.type == target:
        return array
    if pa.types.is_struct(target):
        children = [conform(array.field(i), target.field(i).type) for i in range(target.num_fields)]
        fields = [target.field(i) for i in range(target.num_fields)]
        return pa.StructArray.from_arrays(children, fields=fields, mask=array.is_null())
    if pa.types.is_map(target):
        keys = conform(array.keys, target.key_type)
        items = conform(array.items, target.item_type)
        return pa.MapArray.from_arrays(
            array.offsets, keys, items, type=target, mask=array.is_null()
        )
    if pa.types.is_list(target) or pa.types.is_large_list(target):
        values = conform(array.values, target.value_type)
        cls = pa.LargeListArray if pa.types.is_large_list(target) else pa.ListArray
        return cls.from_arrays(array.offsets, values, type=target, mask=array.is_null())
    return array.cast(target)


def positions(backup: Schema, current: Schema) -> list[str]:
    """Current column names of the backup's columns, in the backup's order (by field id)."""
    by_id: dict[int, NestedField] = {f.field_id: f for f in current.fields}
    return [by_id[f.field_id].name for f in backup.fields]
