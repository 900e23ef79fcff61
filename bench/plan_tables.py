"""Benchmark: plan time for N tables in an embedded SQLite catalog, serial vs parallel
loading, and catalog calls per table. Prints figures; asserts nothing about speed.

    PYTHONPATH=. .venv/bin/python bench/plan_tables.py [--tables 2000] [--workers 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from reconciler.diff.tables import plan_tables
from reconciler.model.tables import MANAGED_BY_PROPERTY, MANAGED_BY_VALUE, ColumnSpec, TableSpec
from reconciler.model.tables import PrimitiveType as P
from reconciler.observe.tables import observe_tables
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.types import iceberg_schema
from reconciler.testing.counting_catalogs import CountingCatalogs

COLUMNS = (
    ColumnSpec("id", P("long"), required=True),
    ColumnSpec("name", P("string")),
    ColumnSpec("amount", P("decimal(12,2)")),
    ColumnSpec("ts", P("timestamptz")),
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--namespaces", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        setup = Catalogs({"lake": {}}, state_dir=state)
        catalog = setup.get("lake")
        specs = []
        props = {"write.parquet.compression-codec": "zstd", MANAGED_BY_PROPERTY: MANAGED_BY_VALUE}
        started = time.perf_counter()
        for i in range(args.tables):
            ns = (f"ns{i % args.namespaces}",)
            catalog.create_namespace_if_not_exists(ns)
            catalog.create_table((*ns, f"t{i}"), iceberg_schema(COLUMNS), properties=props)
            specs.append(TableSpec("lake", ns, f"t{i}", COLUMNS))
        print(f"setup: created {args.tables} tables in {time.perf_counter() - started:.1f} s")
        desired = tuple(specs)
        for workers in (1, args.workers):
            cats = CountingCatalogs({"lake": {}}, state_dir=state)
            cats.get("lake")  # build the catalog outside the timing
            cats.calls.clear()
            t0 = time.perf_counter()
            inventory = observe_tables(cats, desired, max_workers=workers)
            t1 = time.perf_counter()
            changes = plan_tables(desired, inventory, allow_destructive=False)
            t2 = time.perf_counter()
            total = sum(cats.calls.values())
            print(
                f"workers={workers:2d}: observe {t1 - t0:6.2f} s, diff {t2 - t1:6.3f} s, "
                f"plan lines {len(changes)}, tables {len(inventory.tables)}, "
                f"catalog calls {total} ({total / args.tables:.3f}/table: {dict(cats.calls)})"
            )


if __name__ == "__main__":
    main()
