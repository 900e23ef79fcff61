"""IcebergApplier from a plan line's operations alone: no TableSpec anywhere in these tests,
real catalogs (SQLite, PostgreSQL, Hive), the outcome read back from the catalog."""

from __future__ import annotations

import pytest
from pyiceberg.types import LongType, StringType

from reconciler.apply.errors import PermanentError, PreconditionFailed
from reconciler.model.tables import (
    MANAGED_BY_PROPERTY,
    MANAGED_BY_VALUE,
    ColumnSpec,
    NullOrder,
    PartitionField,
    PrimitiveType,
    SortDirection,
    SortField,
    StructType,
)
from reconciler.plan.change import Action, Change, FieldChange
from reconciler.plan.operations import decode_operations, encode_operations
from reconciler.plan.table_ops import CreateTable, DropTable, OpKind, TableOp
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.types import observed_table
from reconciler.providers.iceberg.writer import IcebergApplier
from reconciler.report.outcome import Status

ADDRESS = "table/lake.ops.events"
CREATE = CreateTable(
    columns=(
        ColumnSpec("id", PrimitiveType("long"), required=True, doc="event key"),
        ColumnSpec(
            "who",
            StructType((ColumnSpec("name", PrimitiveType("string")),)),
        ),
        ColumnSpec("ts", PrimitiveType("timestamptz"), required=True),
    ),
    partition_by=(PartitionField("ts", "day"),),
    sort_by=(SortField("id", "identity", SortDirection.DESC, NullOrder.LAST),),
    properties=((MANAGED_BY_PROPERTY, MANAGED_BY_VALUE), ("x.origin", "ops-test")),
)


def _through_json(change: Change) -> Change:
    """As a saved plan hands it over: the operations rebuilt from their JSON."""
    ops = decode_operations(encode_operations(change.operations), change.address)
    return Change(
        change.address,
        change.action,
        change.reason,
        change.fields,
        change.depends_on,
        change.preconditions,
        change.options,
        ops,
    )


def _create(catalogs: Catalogs) -> None:
    line = _through_json(Change(ADDRESS, Action.CREATE, "create", operations=(CREATE,)))
    assert IcebergApplier(catalogs).apply(line).status is Status.APPLIED


def _pre(catalogs: Catalogs) -> tuple[tuple[str, int], ...]:
    meta = catalogs.get("lake").load_table(("ops", "events")).metadata
    return (
        ("schema_id", meta.current_schema_id),
        ("spec_id", meta.default_spec_id),
        ("sort_order_id", meta.default_sort_order_id),
    )


def test_create_builds_exactly_the_table_the_operation_describes(catalogs: Catalogs) -> None:
    _create(catalogs)
    observed = observed_table("lake", catalogs.get("lake").load_table(("ops", "events")))
    assert [(c.name, str(c.type), c.required, c.doc) for c in observed.fields] == [
        ("id", "long", True, "event key"),
        ("who", "struct<name: string>", False, None),
        ("ts", "timestamptz", True, None),
    ]
    assert [(f.source, f.transform) for f in observed.partition_by] == [("ts", "day")]
    assert observed.sort_by == CREATE.sort_by
    props = dict(observed.properties)
    assert props[MANAGED_BY_PROPERTY] == MANAGED_BY_VALUE and props["x.origin"] == "ops-test"
    assert observed.owned and observed.format_version == 2


def test_update_replays_the_operations_in_one_commit(catalogs: Catalogs) -> None:
    _create(catalogs)
    ops = (
        TableOp(OpKind.RENAME_COLUMN, path=("who",), new_name="actor"),
        TableOp(OpKind.ADD_COLUMN, path=("note",), column_type=PrimitiveType("string")),
        TableOp(OpKind.UPDATE_DOC, path=("id",), doc="new doc"),
        TableOp(
            OpKind.SET_PARTITION,
            partition_by=(PartitionField("ts", "month"), PartitionField("id", "bucket[4]")),
        ),
        TableOp(OpKind.SET_SORT, sort_by=()),
        TableOp(OpKind.SET_PROPERTY, path=("x.origin",), value="replayed"),
    )
    line = _through_json(
        Change(
            ADDRESS,
            Action.UPDATE,
            "display only",
            (FieldChange("display.only", None, 1),),  # the applier never reads fields
            preconditions=_pre(catalogs),
            operations=ops,
        )
    )
    before = len(catalogs.get("lake").load_table(("ops", "events")).metadata.metadata_log)
    outcome = IcebergApplier(catalogs).apply(line)
    assert outcome.status is Status.APPLIED
    table = catalogs.get("lake").load_table(("ops", "events"))
    observed = observed_table("lake", table)
    assert [c.name for c in observed.fields] == ["id", "actor", "ts", "note"]
    assert observed.fields[0].doc == "new doc"
    assert {(f.source, f.transform) for f in observed.partition_by if f.transform != "void"} == {
        ("ts", "month"),
        ("id", "bucket[4]"),
    }
    assert observed.sort_by == ()
    assert dict(observed.properties)["x.origin"] == "replayed"
    assert len(table.metadata.metadata_log) == before + 1  # one transaction, one commit
    assert dict(outcome.result)["schema_id"] == table.metadata.current_schema_id


def test_a_precondition_that_no_longer_holds_writes_nothing(catalogs: Catalogs) -> None:
    _create(catalogs)
    pre = _pre(catalogs)
    with catalogs.get("lake").load_table(("ops", "events")).update_schema() as update:
        update.add_column("other", LongType())  # someone else, after the plan
    line = Change(
        ADDRESS,
        Action.UPDATE,
        "r",
        preconditions=pre,
        operations=(TableOp(OpKind.ADD_COLUMN, path=("note",), column_type=PrimitiveType("int")),),
    )
    with pytest.raises(PreconditionFailed, match="schema_id"):
        IcebergApplier(catalogs).apply(line)
    names = [f.name for f in catalogs.get("lake").load_table(("ops", "events")).schema().fields]
    assert "note" not in names and "other" in names


def test_lines_that_do_not_carry_a_runnable_instruction_are_refused(catalogs: Catalogs) -> None:
    _create(catalogs)
    applier = IcebergApplier(catalogs)
    pre = _pre(catalogs)
    empty = Change(ADDRESS, Action.UPDATE, "r", preconditions=pre)
    with pytest.raises(PermanentError, match="carries no operations"):
        applier.apply(empty)
    drop_column = TableOp(OpKind.DELETE_COLUMN, path=("who",), destructive=True)
    risky = Change(ADDRESS, Action.UPDATE, "r", preconditions=pre, operations=(drop_column,))
    with pytest.raises(PermanentError, match="without allow_destructive"):
        applier.apply(risky)
    impossible = Change(
        ADDRESS, Action.UPDATE, "r", preconditions=pre, operations=(TableOp(OpKind.IMPOSSIBLE),)
    )
    with pytest.raises(PermanentError, match="impossible"):
        applier.apply(impossible)
    wrong = Change(ADDRESS, Action.CREATE, "r", operations=(DropTable(),))
    with pytest.raises(PermanentError, match="exactly one CreateTable"):
        applier.apply(wrong)
    names = [f.name for f in catalogs.get("lake").load_table(("ops", "events")).schema().fields]
    assert names == ["id", "who", "ts"]  # nothing of it ran


def test_a_destructive_step_runs_with_its_opt_in_and_a_drop_keeps_nothing_but_files(
    catalogs: Catalogs,
) -> None:
    _create(catalogs)
    drop_column = TableOp(OpKind.DELETE_COLUMN, path=("who",), destructive=True)
    line = Change(
        ADDRESS,
        Action.UPDATE,
        "r",
        preconditions=_pre(catalogs),
        options=(("allow_destructive", True),),
        operations=(drop_column,),
    )
    IcebergApplier(catalogs).apply(line)
    names = [f.name for f in catalogs.get("lake").load_table(("ops", "events")).schema().fields]
    assert names == ["id", "ts"]
    drop = Change(
        ADDRESS,
        Action.DELETE,
        "r",
        preconditions=_pre(catalogs),
        options=(("allow_destructive", True),),
        operations=(DropTable(),),
    )
    outcome = IcebergApplier(catalogs).apply(_through_json(drop))
    assert "files kept" in outcome.message
    assert not catalogs.get("lake").table_exists(("ops", "events"))


def test_adoption_sets_only_the_marker_and_checks_who_holds_it(catalogs: Catalogs) -> None:
    catalog = catalogs.get("lake")
    catalog.create_namespace_if_not_exists(("ops",))
    from pyiceberg.schema import Schema
    from pyiceberg.types import NestedField

    catalog.create_table(
        ("ops", "events"),
        Schema(NestedField(1, "id", StringType())),
        properties={MANAGED_BY_PROPERTY: "airflow"},
    )
    marker = TableOp(OpKind.SET_PROPERTY, path=(MANAGED_BY_PROPERTY,), value=MANAGED_BY_VALUE)
    line = Change(
        ADDRESS,
        Action.UPDATE,
        "adopt",
        preconditions=(*_pre(catalogs), (MANAGED_BY_PROPERTY, None)),  # planned: unmarked
        options=(("adopt", True),),
        operations=(marker,),
    )
    with pytest.raises(PreconditionFailed, match=f"{MANAGED_BY_PROPERTY} is airflow"):
        IcebergApplier(catalogs).apply(line)
    line = Change(
        ADDRESS,
        Action.UPDATE,
        "adopt",
        preconditions=(*_pre(catalogs), (MANAGED_BY_PROPERTY, "airflow")),
        options=(("adopt", True),),
        operations=(marker,),
    )
    IcebergApplier(catalogs).apply(line)
    props = catalog.load_table(("ops", "events")).properties
    assert props[MANAGED_BY_PROPERTY] == MANAGED_BY_VALUE
