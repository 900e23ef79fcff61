"""Tables of one new namespace created in parallel (as the executor does) all succeed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from reconciler.plan.change import Action
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.writer import IcebergApplier
from reconciler.report.outcome import Status
from tests.integration.iceberg.table_helpers import plan, table_spec

TEMPLATE = """
apiVersion: reconciler/v1
kind: Table
metadata: {{name: t{n}}}
spec:
  catalog: lake
  namespace: fresh
  name: t{n}
  schema:
    - {{name: id, type: long, required: true}}
"""


def test_parallel_creates_share_one_new_namespace(catalogs: Catalogs) -> None:
    specs = tuple(table_spec(TEMPLATE.format(n=n)) for n in range(6))
    lines = plan(catalogs, specs)
    assert [c.action for c in lines] == [Action.CREATE] * 6
    applier = IcebergApplier(catalogs)
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(applier.apply, lines))
    assert [o.status for o in outcomes] == [Status.APPLIED] * 6
    assert plan(catalogs, specs) == ()


def test_already_exists_for_our_own_create_is_recognised_by_its_uuid(catalogs: Catalogs) -> None:
    """A metastore that retries a create internally answers "already exists" for the table
    our first attempt made: the UUID our transaction wrote tells it apart from a table
    someone else created."""
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField

    from reconciler.providers.iceberg.writer import _our_create, _Target

    catalog = catalogs.get("lake")
    catalog.create_namespace_if_not_exists("retried")
    target = _Target("table/lake.retried.t", "lake", ("retried",), "t")
    tx = catalog.create_table_transaction(
        target.identifier, schema=Schema(NestedField(1, "id", LongType(), required=True))
    )
    ours = str(tx.table_metadata.table_uuid)
    tx.commit_transaction()
    landed = _our_create(catalog, target, ours)
    assert landed is not None and str(landed.metadata.table_uuid) == ours
    assert _our_create(catalog, target, "00000000-0000-0000-0000-000000000000") is None
    missing = _Target("table/lake.retried.none", "lake", ("retried",), "none")
    assert _our_create(catalog, missing, ours) is None
