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
