"""A metadata cache kept across plans (as the daemon keeps it): an unchanged table costs one
catalog call and no metadata read; a table committed to since is read again, fresh."""

from __future__ import annotations

import pyarrow as pa

from reconciler.model.tables import TableInventory
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.metadata_cache import MetadataCache
from reconciler.providers.iceberg.observe_tables import observe_tables
from reconciler.testing.counting_catalogs import CountingCatalogs
from tests.integration.iceberg.table_helpers import converge, table_spec

TEMPLATE = """
apiVersion: reconciler/v1
kind: Table
metadata: {{name: t{n}}}
spec:
  catalog: lake
  namespace: cached
  name: t{n}
  schema:
    - {{name: id, type: long, required: true}}
"""


def _cycle(catalogs: Catalogs, cache: MetadataCache) -> tuple[CountingCatalogs, TableInventory]:
    """One daemon cycle: fresh catalog objects (as `build_deps` makes), the long-lived cache."""
    fresh = CountingCatalogs(catalogs._configs, catalogs._state_dir, metadata_cache=cache)
    return fresh, observe_tables(fresh, catalog_names=("lake",))


def test_unchanged_tables_cost_one_call_and_no_read(catalogs: Catalogs) -> None:
    specs = tuple(table_spec(TEMPLATE.format(n=n)) for n in range(3))
    converge(catalogs, specs)
    cache = MetadataCache()

    _, first = _cycle(catalogs, cache)
    assert cache.stats().misses == 3 and cache.stats().hits == 0

    counting, second = _cycle(catalogs, cache)
    assert second == first
    assert cache.stats().misses == 3 and cache.stats().hits == 3  # no metadata read
    # SQL: one `load_table` each; Hive: the listing brought each entry, no call per table
    assert counting.calls["load_table"] + counting.calls["table_from_listing"] == 3

    # Another writer (no cache of ours) commits to t1: only t1 is read again, and fresh.
    writer = Catalogs(catalogs._configs, catalogs._state_dir, metadata_cache=MetadataCache())
    table = writer.get("lake").load_table(("cached", "t1"))
    rows = pa.Table.from_pylist(
        [{"id": 1}], schema=pa.schema([pa.field("id", pa.int64(), nullable=False)])
    )
    table.append(rows)
    _, third = _cycle(catalogs, cache)
    assert cache.stats().misses == 4 and cache.stats().hits == 5
    observed = {t.address: t for t in third.tables}
    before = {t.address: t for t in first.tables}
    assert observed["table/lake.cached.t1"].snapshot is not None
    assert before["table/lake.cached.t1"].snapshot is None
    assert observed["table/lake.cached.t0"] == before["table/lake.cached.t0"]


def test_the_cache_is_bounded() -> None:
    cache = MetadataCache(max_entries=2)
    for n in range(3):
        cache.put(f"file:///m/{n}.json", n)
    assert cache.get("file:///m/0.json") is None
    assert cache.get("file:///m/2.json") == 2
    assert cache.stats().entries == 2
