"""A type narrowing is refused always, opt-ins or not, naming Iceberg's promotion rule."""

from __future__ import annotations

import pytest
from test_table_cases import _actual, _desired

from reconciler.diff.tables import plan_tables
from reconciler.model.tables import TableInventory

RULE = "Iceberg allows only int→long, float→double, decimal(P,S)→decimal(P',S) with P'>P"


@pytest.mark.parametrize(
    ("have", "want"),
    [("long", "int"), ("double", "float"), ("decimal(12,2)", "decimal(10,2)"),
     ("decimal(10,2)", "decimal(12,3)"), ("string", "int"), ("timestamptz", "date")],
)  # fmt: skip
def test_narrowing_is_refused_even_with_both_opt_ins(have: str, want: str) -> None:
    actual = _actual(
        {
            "schema": [{"name": "c", "type": have}],
            "properties": {
                "reconciler.managed-by": "datalake-reconciler",
                "write.parquet.compression-codec": "zstd",
            },
        }
    )
    desired = _desired({"schema": [{"name": "c", "type": want}], "allowDestructive": True})
    inventory = TableInventory(namespaces=(("lake", ("ns",)),), tables=(actual,))
    (change,) = plan_tables((desired,), inventory, True)
    assert change.action.value == "refuse"
    assert RULE in change.reason
    assert [f.path for f in change.fields] == ["schema.c.type"]
