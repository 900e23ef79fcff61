"""Create the example tables, converge, evolve, refuse, detect concurrent changes (real catalog)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from table_helpers import ORDERS, apply_all, converge, plan, table_spec

from reconciler.apply.errors import PreconditionFailed
from reconciler.model.tables import MANAGED_BY_PROPERTY, TableSpec
from reconciler.plan.change import Action
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.writer import IcebergApplier


def test_example_tables_created_then_plan_is_empty(
    catalogs: Catalogs, example_tables: tuple[TableSpec, ...]
) -> None:
    first = plan(catalogs, example_tables)
    assert {c.action for c in first} == {Action.CREATE}
    assert {c.address for c in first} == {t.address for t in example_tables}
    converge(catalogs, example_tables)
    orders = catalogs.get("lake").load_table("sales.orders")
    props = orders.metadata.properties
    assert props[MANAGED_BY_PROPERTY] == "datalake-reconciler"
    assert props["write.parquet.compression-codec"] == "zstd"
    assert orders.metadata.format_version == 2
    assert [(str(f.transform), f.name) for f in orders.spec().fields] == [
        ("day", "ts_day"),
        ("bucket[16]", "order_id_bucket_16"),
    ]
    assert [str(f.transform) for f in orders.sort_order().fields] == ["identity"]


def _rows() -> pa.Table:
    ts = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    customer = pa.struct([("id", pa.int64()), ("name", pa.string())])
    schema = pa.schema(
        [
            pa.field("order_id", pa.int64(), nullable=False),
            ("qty", pa.int32()),
            ("price", pa.float32()),
            ("amount", pa.decimal128(10, 2)),
            ("mail", pa.string()),
            ("customer", customer),
            pa.field("ts", pa.timestamp("us", "UTC"), nullable=False),
        ]
    )
    return pa.Table.from_pydict(
        {
            "order_id": [1, 2, 3],
            "qty": [1, 2, None],
            "price": [1.5, 2.5, 3.5],
            "amount": [Decimal("10.00"), Decimal("20.50"), None],
            "mail": ["a@x", "b@x", None],
            "customer": [{"id": 7, "name": "A"}, None, {"id": 9, "name": "C"}],
            "ts": [ts, ts, ts + dt.timedelta(days=1)],
        },
        schema=schema,
    )


EVOLVED = (
    ORDERS.replace("{name: qty, type: int}", "{name: qty, type: long, doc: units}")
    .replace("{name: price, type: float}", "{name: price, type: double}")
    .replace('"decimal(10,2)"', '"decimal(14,2)"')
    .replace("{name: mail, type: string}", "{name: email, type: string, renamedFrom: mail}")
    .replace("{name: name, type: string}]", "{name: name, type: string}, {name: tier, type: int}]")
    .replace("{name: order_id, type: long, required: true}", "{name: order_id, type: long}")
    .replace(
        "    - {source: ts, transform: day}",
        "    - {source: ts, transform: month}\n"
        '    - {source: order_id, transform: "bucket[4]"}\n'
        "  sortBy:\n    - {source: order_id, direction: desc}\n"
        '  properties: {write.target-file-size-bytes: "1048576"}',
    )
)


def test_each_evolution_applied_and_data_survives(catalogs: Catalogs) -> None:
    base = table_spec(ORDERS)
    converge(catalogs, (base,))
    table = catalogs.get("lake").load_table("shop.orders")
    table.append(_rows())

    # Reorder + add a top-level column at the front, on top of every other evolution.
    evolved = table_spec(
        EVOLVED.replace("  schema:\n", "  schema:\n    - {name: channel, type: string}\n")
    )
    changes = plan(catalogs, (evolved,))
    assert [c.action for c in changes] == [Action.UPDATE]
    paths = {f.path for f in changes[0].fields}
    assert {
        "schema.channel",
        "schema.qty.type",
        "schema.qty.doc",
        "schema.price.type",
        "schema.amount.type",
        "schema.email.name",
        "schema.customer.tier",
        "schema.order_id.required",
        "schema(order)",
        "partitionBy",
        "sortBy",
        "properties.write.target-file-size-bytes",
    } <= paths
    assert dict(changes[0].preconditions) == {"schema_id": 0, "spec_id": 1, "sort_order_id": 0}
    apply_all(catalogs, (evolved,), changes)
    assert plan(catalogs, (evolved,)) == ()

    table = catalogs.get("lake").load_table("shop.orders")
    schema = table.schema()
    assert [f.name for f in schema.fields][:3] == ["channel", "order_id", "qty"]
    assert str(schema.find_field("qty").field_type) == "long"
    assert schema.find_field("qty").doc == "units"
    assert str(schema.find_field("amount").field_type) == "decimal(14, 2)"
    assert not schema.find_field("order_id").required
    assert schema.find_field("customer.tier").field_id > 0
    assert [str(f.transform) for f in table.spec().fields] == ["month", "bucket[4]"]
    assert table.metadata.properties["write.target-file-size-bytes"] == "1048576"

    data = table.scan().to_arrow().sort_by("order_id")
    assert data.num_rows == 3
    assert data["email"].to_pylist() == ["a@x", "b@x", None]
    assert data["qty"].to_pylist() == [1, 2, None]
    assert data["amount"].to_pylist() == [Decimal("10.00"), Decimal("20.50"), None]
    assert data["channel"].to_pylist() == [None, None, None]
    assert [c and c["tier"] for c in data["customer"].to_pylist()] == [None, None, None]


REFUSED = {
    "drop column": lambda s: s.replace("    - {name: mail, type: string}\n", ""),
    "rename without renamedFrom": lambda s: s.replace("name: mail,", "name: email,"),
    "narrow type": lambda s: s.replace("{name: order_id, type: long", "{name: order_id, type: int"),
    "incompatible type": lambda s: s.replace(
        "{name: mail, type: string}", "{name: mail, type: long}"
    ),
    "optional to required": lambda s: s.replace(
        "{name: qty, type: int}", "{name: qty, type: int, required: true}"
    ),
    "add required column": lambda s: s.replace(
        "  schema:\n", "  schema:\n    - {name: x, type: int, required: true}\n"
    ),
}


NEVER = {"narrow type", "incompatible type"}  # not promotions: refused even with both opt-ins


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_destructive_changes_refused_and_table_unchanged(catalogs: Catalogs, kind: str) -> None:
    converge(catalogs, (table_spec(ORDERS),))
    before = catalogs.get("lake").load_table("shop.orders").metadata
    wanted = REFUSED[kind](ORDERS)
    for spec_text, flag in (
        (wanted, True),
        (wanted.replace("spec:\n", "spec:\n  allowDestructive: true\n"), False),
    ):
        spec = table_spec(spec_text)
        changes = plan(catalogs, (spec,), allow_destructive=flag)
        assert [c.action for c in changes] == [Action.REFUSE], changes
        assert "destructive" in changes[0].reason
        apply_all(catalogs, (spec,), changes)  # refuse lines are never executed
    after = catalogs.get("lake").load_table("shop.orders").metadata
    assert after.current_schema_id == before.current_schema_id
    assert after.schema() == before.schema()

    opted = table_spec(wanted.replace("spec:\n", "spec:\n  allowDestructive: true\n"))
    changes = plan(catalogs, (opted,), allow_destructive=True)
    if kind in NEVER:  # Iceberg cannot read a table after a narrowing: no opt-in runs it
        assert [c.action for c in changes] == [Action.REFUSE], changes
        assert "Iceberg allows only" in changes[0].reason, changes[0].reason
        return
    # Both opt-ins given: the change becomes an update that is allowed to run.
    assert [c.action for c in changes] == [Action.UPDATE]
    assert dict(changes[0].options) == {"allow_destructive": True}


def test_concurrent_schema_change_is_detected(catalogs: Catalogs) -> None:
    spec = table_spec(ORDERS)
    converge(catalogs, (spec,))
    evolved = table_spec(
        ORDERS.replace("  schema:\n", "  schema:\n    - {name: note, type: string}\n")
    )
    changes = plan(catalogs, (evolved,))
    assert [c.action for c in changes] == [Action.UPDATE]
    # Someone else evolves the table between plan and apply.
    from pyiceberg.types import StringType

    with catalogs.get("lake").load_table("shop.orders").update_schema() as update:
        update.add_column("other", StringType())
    with pytest.raises(PreconditionFailed, match="schema_id"):
        IcebergApplier(catalogs).apply(changes[0])
    names = [f.name for f in catalogs.get("lake").load_table("shop.orders").schema().fields]
    assert "note" not in names and "other" in names


def test_unowned_table_is_a_conflict_and_owned_unknown_is_an_orphan(catalogs: Catalogs) -> None:
    spec = table_spec(ORDERS)
    converge(catalogs, (spec,))
    catalog = catalogs.get("lake")
    catalog.create_table("shop.foreign", schema=catalog.load_table("shop.orders").schema())
    foreign = table_spec(ORDERS.replace("name: orders\n", "name: foreign\n"))
    changes = plan(catalogs, (foreign,))
    actions = {c.address: c.action for c in changes}
    assert actions == {
        "table/lake.shop.foreign": Action.CONFLICT,
        "table/lake.shop.orders": Action.ORPHAN,
    }
    assert all(not c.action.executes for c in changes)
