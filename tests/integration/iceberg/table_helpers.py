"""Helpers for the Iceberg integration tests: specs from YAML text, one reconcile pass."""

from __future__ import annotations

from reconciler.diff.tables import plan_tables
from reconciler.model.tables import TableSpec
from reconciler.plan.change import Action, Change
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.observe_tables import observe_tables
from reconciler.providers.iceberg.writer import IcebergApplier
from reconciler.report.outcome import Status
from reconciler.sources.documents import SpecError, parse_documents
from reconciler.sources.validate import check_document


def table_spec(text: str) -> TableSpec:
    """One `kind: Table` YAML document, validated by its schema and built."""
    docs, errors = parse_documents(text, "test.yaml")
    assert not errors, errors
    problems: list[SpecError] = []
    built = check_document(docs[0], problems)
    assert built is not None, [str(p) for p in problems]
    spec: TableSpec = built.spec
    return spec


def plan(
    cats: Catalogs, specs: tuple[TableSpec, ...], allow_destructive: bool = False
) -> tuple[Change, ...]:
    return plan_tables(specs, observe_tables(cats, specs), allow_destructive)


def apply_all(cats: Catalogs, specs: tuple[TableSpec, ...], changes: tuple[Change, ...]) -> None:
    applier = IcebergApplier(cats)
    for change in changes:
        if change.action in (Action.CREATE, Action.UPDATE):
            assert applier.apply(change).status is Status.APPLIED


def converge(cats: Catalogs, specs: tuple[TableSpec, ...], allow_destructive: bool = False) -> None:
    """Plan, apply, and assert the next plan is empty."""
    apply_all(cats, specs, plan(cats, specs, allow_destructive))
    assert plan(cats, specs, allow_destructive) == ()


ORDERS = """
apiVersion: reconciler/v1
kind: Table
metadata: {name: orders}
spec:
  catalog: lake
  namespace: shop
  name: orders
  schema:
    - {name: order_id, type: long, required: true}
    - {name: qty, type: int}
    - {name: price, type: float}
    - {name: amount, type: "decimal(10,2)"}
    - {name: mail, type: string}
    - name: customer
      type: {struct: [{name: id, type: long}, {name: name, type: string}]}
    - {name: ts, type: timestamptz, required: true}
  partitionBy:
    - {source: ts, transform: day}
"""
