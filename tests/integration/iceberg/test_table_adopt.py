"""Adopting a table made outside the reconciler, on real catalogs: only the ownership property
is set, nothing else; a table that changed since the adoption plan is not marked."""

from __future__ import annotations

import pytest
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField, StringType

from reconciler.apply.errors import PreconditionFailed
from reconciler.diff.adopt import plan_adoption
from reconciler.model.desired import Desired
from reconciler.model.tables import MANAGED_BY_PROPERTY, MANAGED_BY_VALUE, TableSpec
from reconciler.plan.change import Action, Change
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.observe_tables import observe_tables
from reconciler.providers.iceberg.writer import IcebergApplier
from reconciler.report.outcome import Status
from tests.integration.iceberg.table_helpers import converge, plan, table_spec

EVENTS = """
apiVersion: reconciler/v1
kind: Table
metadata: {name: events}
spec:
  catalog: lake
  namespace: raw
  name: events
  schema:
    - {name: id, type: long, required: true}
    - {name: body, type: string}
    - {name: source, type: string}
  properties:
    owner: data-team
"""
HANDMADE = Schema(
    NestedField(1, "id", LongType(), required=True), NestedField(2, "body", StringType())
)


def _handmade(cats: Catalogs) -> None:
    catalog = cats.get("lake")
    catalog.create_namespace_if_not_exists(("raw",))
    catalog.create_table(("raw", "events"), schema=HANDMADE, properties={"team": "ingest"})


def _adoption(cats: Catalogs, spec: TableSpec) -> Change:
    desired = Desired(tables=(spec,))
    (line,) = plan_adoption((spec.address,), desired, None, observe_tables(cats, (spec,)))
    return line


def test_adopt_sets_only_the_property_then_the_plan_evolves_the_table(catalogs: Catalogs) -> None:
    spec = table_spec(EVENTS)
    _handmade(catalogs)
    assert [c.action for c in plan(catalogs, (spec,))] == [Action.CONFLICT]
    before = catalogs.get("lake").load_table(("raw", "events")).metadata

    line = _adoption(catalogs, spec)
    assert line.action is Action.UPDATE
    outcome = IcebergApplier(catalogs).apply(line)
    assert outcome.status is Status.APPLIED

    after = catalogs.get("lake").load_table(("raw", "events")).metadata
    assert after.properties[MANAGED_BY_PROPERTY] == MANAGED_BY_VALUE
    assert {
        k: v for k, v in after.properties.items() if k != MANAGED_BY_PROPERTY
    } == before.properties
    assert after.schemas == before.schemas and after.current_schema_id == before.current_schema_id
    assert (
        after.partition_specs == before.partition_specs and after.sort_orders == before.sort_orders
    )
    assert after.snapshots == before.snapshots

    (evolve,) = plan(catalogs, (spec,))
    assert evolve.action is Action.UPDATE
    # pyiceberg's HiveCatalog writes the zstd default itself; the SQL catalog does not.
    codec = (
        set()
        if "write.parquet.compression-codec" in before.properties
        else {"properties.write.parquet.compression-codec"}
    )
    assert {f.path for f in evolve.fields} == {"schema.source", "properties.owner"} | codec
    assert [c.action for c in plan(catalogs, (spec,))] == [Action.UPDATE]
    converge(catalogs, (spec,))  # once ours, the table converges like any other


def test_a_table_changed_since_the_adoption_plan_is_not_marked(catalogs: Catalogs) -> None:
    spec = table_spec(EVENTS)
    _handmade(catalogs)
    line = _adoption(catalogs, spec)
    with catalogs.get("lake").load_table(("raw", "events")).update_schema() as update:
        update.add_column("late", StringType())
    with pytest.raises(PreconditionFailed):
        IcebergApplier(catalogs).apply(line)
    table = catalogs.get("lake").load_table(("raw", "events"))
    assert MANAGED_BY_PROPERTY not in table.properties
    assert [c.action for c in plan(catalogs, (spec,))] == [Action.CONFLICT]


def test_a_repeated_adoption_line_writes_nothing_new(catalogs: Catalogs) -> None:
    spec = table_spec(EVENTS)
    _handmade(catalogs)
    line = _adoption(catalogs, spec)
    applier = IcebergApplier(catalogs)
    assert applier.apply(line).status is Status.APPLIED
    location = catalogs.get("lake").load_table(("raw", "events")).metadata_location
    assert applier.apply(line).status is Status.APPLIED  # e.g. a retry after a lost answer
    assert catalogs.get("lake").load_table(("raw", "events")).metadata_location == location
    desired = Desired(tables=(spec,))
    assert plan_adoption((spec.address,), desired, None, observe_tables(catalogs, (spec,))) == ()
