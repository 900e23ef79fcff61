"""Benchmark: observing and planning N tables on a real catalog, side by side: the serial
floor (one load at a time, cold), parallel cold (`parallel_reads` at a time, empty metadata
cache) and parallel warm (the cache a daemon keeps between cycles: on Hive with a
transactional notification log, the namespace listings too, brought up to date from the log),
then warm again after another writer changed one table. Prints figures and ratios; asserts
nothing about speed.

    PYTHONPATH=. .venv/bin/python bench/plan_tables.py [--catalog sqlite|hive] [--tables 2000]
        [--workers 8] [--hms-uri thrift://...]

`--catalog hive` uses `--hms-uri` (or RECONCILER_HMS_URI), else launches a metastore on a
private MariaDB with `reconciler.testing.hms` for the run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from reconciler.diff.tables import plan_tables
from reconciler.model.tables import MANAGED_BY_PROPERTY, MANAGED_BY_VALUE, ColumnSpec, TableSpec
from reconciler.model.tables import PrimitiveType as P
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.catalog_hive import CachingHiveCatalog
from reconciler.providers.iceberg.metadata_cache import MetadataCache
from reconciler.providers.iceberg.observe_tables import observe_tables
from reconciler.providers.iceberg.types import iceberg_schema
from reconciler.testing.counting_catalogs import CountingCatalogs

COLUMNS = (
    ColumnSpec("id", P("long"), required=True),
    ColumnSpec("name", P("string")),
    ColumnSpec("amount", P("decimal(12,2)")),
    ColumnSpec("ts", P("timestamptz")),
)
PROPS = {"write.parquet.compression-codec": "zstd", MANAGED_BY_PROPERTY: MANAGED_BY_VALUE}


@contextlib.contextmanager
def catalog_config(kind: str, state: Path, hms_uri: str | None) -> Iterator[dict[str, str]]:
    if kind == "sqlite":
        yield {}
        return
    uri = hms_uri or os.environ.get("RECONCILER_HMS_URI")
    if uri:
        config = {"type": "hive", "uri": uri, "warehouse": (state / "warehouse").as_uri()}
        try:
            yield config
        finally:  # the metastore outlives this run: leave no table pointing at deleted files
            drop_bench_tables(Catalogs({"lake": config}, state))
        return
    from reconciler.testing.hms.server import start_metastore

    began = time.perf_counter()
    with start_metastore(state / "hms") as hms:
        print(f"metastore: started in {time.perf_counter() - began:.1f} s at {hms.uri}")
        yield {"type": "hive", "uri": hms.uri, "warehouse": hms.warehouse}


def drop_bench_tables(catalogs: Catalogs) -> None:
    catalog = catalogs.get("lake")
    mine = [ns for ns in catalog.list_namespaces() if ns[0].startswith("bench")]
    tables = [t for ns in mine for t in catalog.list_tables(ns)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda t: catalogs.get("lake").drop_table(t), tables))
    for ns in mine:
        catalog.drop_namespace(ns)


def create_tables(catalogs: Catalogs, count: int, namespaces: int) -> tuple[TableSpec, ...]:
    """`count` owned tables over `namespaces` namespaces (those already there are kept)."""
    catalog = catalogs.get("lake")
    names = [(f"bench{i % namespaces}", f"t{i}") for i in range(count)]
    for ns in sorted({n for n, _ in names}):
        catalog.create_namespace_if_not_exists(ns)
    existing = {tuple(t) for ns in {n for n, _ in names} for t in catalog.list_tables(ns)}

    def create(identifier: tuple[str, str]) -> None:
        if identifier not in existing:
            catalogs.get("lake").create_table(identifier, iceberg_schema(COLUMNS), properties=PROPS)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, names))
    return tuple(TableSpec("lake", (ns,), name, COLUMNS) for ns, name in names)


def touch_one(catalogs: Catalogs, spec: TableSpec) -> None:
    """Another writer (no cache of ours) commits to one table: a new metadata file."""
    table = catalogs.get("lake").load_table((*spec.namespace, spec.name))
    with table.transaction() as tx:
        tx.set_properties({"bench.touched": str(time.time())})


def serial_floor(config: dict[str, str], state: Path, desired: tuple[TableSpec, ...]) -> float:
    """pyiceberg as it comes: list, then one `load_table` after another, no cache."""
    from reconciler.providers.iceberg.catalog import build_catalog

    catalog = build_catalog("lake", config, state_dir=state)
    t0 = time.perf_counter()
    identifiers = [t for ns in catalog.list_namespaces() for t in catalog.list_tables(ns)]
    tables = [catalog.load_table(i) for i in identifiers]
    elapsed = time.perf_counter() - t0
    print(
        f"{'serial floor':<14} workers= 1: observe {elapsed:7.2f} s "
        f"({1000 * elapsed / len(tables):.1f} ms/table), tables {len(tables)}, "
        f"catalog calls 1 load_table/table, metadata reads {len(tables)}"
    )
    return elapsed


def listing_alone(config: dict[str, str], state: Path, workers: int) -> float | None:
    """Hive: the metastore's own share of a warm observe (the listing calls alone)."""
    cats = Catalogs({"lake": config}, state)
    catalog = cats.get("lake")
    bulk = getattr(catalog, "list_iceberg_tables", None)
    if bulk is None:
        return None
    namespaces = catalog.list_namespaces()

    def count(namespace: tuple[str, ...]) -> int:
        hive = cats.get("lake")
        assert isinstance(hive, CachingHiveCatalog)
        return len(hive.list_iceberg_tables(namespace))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        found = sum(pool.map(count, namespaces))
    elapsed = time.perf_counter() - t0
    print(
        f"{'listing alone':<14} workers={workers:2d}: {elapsed:7.2f} s for {found} tables in "
        f"{len(namespaces)} namespaces (get_all_tables + get_table_objects_by_name)"
    )
    return elapsed


def measure(
    label: str, config: dict[str, str], state: Path, desired: tuple[TableSpec, ...],
    workers: int, cache: MetadataCache,
) -> float:  # fmt: skip
    cats = CountingCatalogs({"lake": config}, state_dir=state, metadata_cache=cache)
    cats.get("lake")  # build the catalog outside the timing
    cats.calls.clear()
    before = cache.stats()
    t0 = time.perf_counter()
    inventory = observe_tables(cats, desired, max_workers=workers)
    t1 = time.perf_counter()
    changes = plan_tables(desired, inventory, allow_destructive=False)
    t2 = time.perf_counter()
    after = cache.stats()
    assert not inventory.errors, inventory.errors
    print(
        f"{label:<14} workers={workers:2d}: observe {t1 - t0:7.2f} s, diff {t2 - t1:6.3f} s, "
        f"tables {len(inventory.tables)}, plan lines {len(changes)}, "
        f"calls {dict(cats.calls)}, "
        f"metadata reads {after.misses - before.misses}"
    )
    return t1 - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--catalog", choices=("sqlite", "hive"), default="sqlite")
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--namespaces", type=int, default=20)
    parser.add_argument("--hms-uri", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        with catalog_config(args.catalog, state, args.hms_uri) as config:
            started = time.perf_counter()
            desired = create_tables(Catalogs({"lake": config}, state), args.tables, args.namespaces)
            print(
                f"setup: {args.tables} tables on {args.catalog} "
                f"in {time.perf_counter() - started:.1f} s"
            )
            serial = serial_floor(config, state, desired)
            kept = MetadataCache()
            cold = measure("parallel cold", config, state, desired, args.workers, kept)
            # A daemon's steady state: the best of three cycles on the kept cache.
            warm = min(
                measure("parallel warm", config, state, desired, args.workers, kept)
                for _ in range(3)
            )
            touch_one(Catalogs({"lake": config}, state), desired[0])
            one = measure("warm, 1 changed", config, state, desired, args.workers, kept)
            print(f"namespace listings made in full: {kept.listings.full_listings}")
            listing_alone(config, state, args.workers)
            print(
                f"ratios to the serial floor: cold {serial / cold:.1f}x faster, "
                f"warm (best of 3) {serial / warm:.1f}x faster, "
                f"warm with 1 changed {serial / one:.1f}x faster; "
                f"cold {cold:.2f} s, warm {warm:.2f} s, warm with 1 changed {one:.2f} s"
            )


if __name__ == "__main__":
    main()
