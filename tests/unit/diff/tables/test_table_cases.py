"""One runner for the table differ's case files: {desired, actual, allow_destructive, expect}."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler.diff.tables import plan_tables
from reconciler.model.tables import (
    ObservedTable,
    PartitionField,
    StructType,
    TableInventory,
    TableSpec,
)
from reconciler.plan.change import Change
from reconciler.plan.operations import decode_operations
from reconciler.sources.build_tables import parse_fields
from reconciler.sources.documents import Document, Problems, SpecError
from reconciler.sources.validate import check_document

CASES = sorted(Path(__file__).with_name("cases").glob("*.json"))


def _desired(spec: dict[str, Any]) -> TableSpec:
    data = {
        "apiVersion": "reconciler/v1",
        "kind": "Table",
        "metadata": {"name": "t"},
        "spec": {"catalog": "lake", "namespace": "ns", "name": "t", **spec},
    }
    errors: list[SpecError] = []
    built = check_document(Document("case.json", 0, 1, data), errors)
    assert built is not None, [str(e) for e in errors]
    table: TableSpec = built.spec
    return table


def _with_ids(columns: Any, counter: list[int]) -> Any:
    """Assign ids like Iceberg does: a struct's fields first, then their children."""
    ids = []
    for _ in columns:
        counter[0] += 1
        ids.append(counter[0])
    out = []
    for column, field_id in zip(columns, ids, strict=True):
        kind = column.type
        if isinstance(kind, StructType):
            kind = StructType(_with_ids(kind.fields, counter))
        out.append(replace(column, id=field_id, type=kind, renamed_from=None))
    return tuple(out)


def _actual(doc: dict[str, Any]) -> ObservedTable:
    problems = Problems(Document("case.json", 0, 1, doc))
    fields = _with_ids(parse_fields(problems, ("schema",), doc["schema"]), [0])
    assert not problems.errors
    return ObservedTable(
        catalog="lake",
        namespace=("ns",),
        name="t",
        fields=fields,
        schema_id=3,
        spec_id=1,
        sort_order_id=0,
        partition_by=tuple(PartitionField(**p) for p in doc.get("partitionBy", ())),
        properties=tuple(sorted(doc.get("properties", {}).items())),
        location="file:///w/ns/t",
    )


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_table_case(case: Path) -> None:
    doc = json.loads(case.read_text())
    inventory = TableInventory(namespaces=(("lake", ("ns",)),), tables=(_actual(doc["actual"]),))
    changes = plan_tables((_desired(doc["desired"]),), inventory, doc["allow_destructive"])
    expect = doc["expect"]
    if expect["action"] is None:
        assert changes == ()
        return
    assert len(changes) == 1, changes
    change: Change = changes[0]
    assert change.action.value == expect["action"], change.reason
    assert sorted(f.path for f in change.fields) == sorted(expect["paths"])
    assert dict(change.options) == expect.get("options", {})
    assert change.reason
    # The instruction itself: the operations the writer replays, as the saved plan holds them.
    encoded = [op.to_dict() for op in change.operations]
    assert encoded == expect.get("operations", []), json.dumps(encoded)
    assert decode_operations(encoded, "case") == change.operations  # round trip
    if change.fields:
        assert dict(change.preconditions) == {"schema_id": 3, "spec_id": 1, "sort_order_id": 0}


def test_plan_is_deterministic_and_create_carries_defaults() -> None:
    spec = _desired({"schema": [{"name": "a", "type": "long"}]})
    first = plan_tables((spec,), TableInventory(), False)
    assert first == plan_tables((spec,), TableInventory(), False)
    (create,) = first
    paths = {f.path: f.after for f in create.fields}
    assert paths["namespace"] == "ns"
    assert paths["properties.write.parquet.compression-codec"] == "zstd"
    assert paths["formatVersion"] == 2
