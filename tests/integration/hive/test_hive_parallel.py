"""Many tables created at once on one `type: hive` catalog: none lost (per-thread clients)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

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
  namespace: par{ns}
  name: t{n}
  schema:
    - {{name: id, type: long, required: true}}
    - {{name: ts, type: timestamptz}}
"""


@pytest.fixture
def hive(tmp_path: Path, hms_uri: str) -> Iterator[Catalogs]:
    cats = Catalogs({"lake": {"type": "hive", "uri": hms_uri, "warehouse": tmp_path.as_uri()}})
    yield cats
    catalog = cats.get("lake")
    for ns in ("par0", "par1", "par2"):
        for ident in catalog.list_tables(ns) if catalog.namespace_exists(ns) else ():
            catalog.drop_table(ident)
        if catalog.namespace_exists(ns):
            catalog.drop_namespace(ns)


def test_twelve_parallel_creates_in_three_new_namespaces_all_land(hive: Catalogs) -> None:
    specs = tuple(table_spec(TEMPLATE.format(n=n, ns=n % 3)) for n in range(12))
    lines = plan(hive, specs)
    assert [c.action for c in lines] == [Action.CREATE] * 12
    applier = IcebergApplier(hive)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(applier.apply, lines))
    assert [o.status for o in outcomes] == [Status.APPLIED] * 12, [o.message for o in outcomes]
    catalog = hive.get("lake")
    assert sorted(i[1] for ns in ("par0", "par1", "par2") for i in catalog.list_tables(ns)) == (
        sorted(f"t{n}" for n in range(12))
    )
    assert plan(hive, specs) == ()
    # timestamptz columns commit on HMS 2.3 (hive2-compatible type names)
    assert catalog.load_table("par0.t0").schema().find_field("ts").field_type.__str__() == (
        "timestamptz"
    )
