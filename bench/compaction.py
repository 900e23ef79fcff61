"""Compaction benchmark: Spark rewrite_data_files vs a plain pyarrow rewrite, and scan time
before vs after, on tables of many small files (SQLite catalog in a temp dir).

Two identical tables are compacted side by side in one run, each in its own spark-submit:
"before" with the options maintenance used to send (sizes only), "after" with the call the
differ plans today from the table's real health and the cluster (file groups, concurrency,
partial progress, Spark SQL session conf). Goals (issue 15): procedure >= 0.5x the pyarrow
floor's throughput, whole spark-submit >= 0.4x.

    .venv/bin/python bench/compaction.py [--files 400] [--rows 20000] [--after-first]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reconciler.diff.compaction_tuning import cluster_of
from reconciler.diff.maintenance import assess_table
from reconciler.model.policies import Compaction, MaintenancePolicy
from reconciler.model.tables import TableSpec
from reconciler.plan.maintenance_ops import CallProcedure, procedure_of
from reconciler.providers.iceberg.health import read_health
from reconciler.providers.spark.jobs import catalog_conf, procedure_call
from reconciler.providers.spark.runner import run_table_job
from reconciler.settings import SparkSettings

TARGET = 128 * 1024 * 1024


def make_files(root: Path, files: int, rows: int) -> list[str]:
    paths = []
    for n in range(files):
        start = n * rows
        ids = pa.array(range(start, start + rows), pa.int64())
        data = pa.table(
            {
                "id": ids,
                "name": pc.cast(ids, pa.string()),
                "amount": pc.multiply(pc.cast(ids, pa.float64()), 0.25),
            }
        )
        path = root / f"small-{n:05d}.parquet"
        pq.write_table(data, path, compression="zstd")
        paths.append(str(path))
    return paths


def scan_seconds(catalog: SqlCatalog, name: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        rows = catalog.load_table(("bench", name)).scan().to_arrow().num_rows
        best = min(best, time.perf_counter() - started)
        assert rows > 0
    return best


def pyarrow_rewrite(paths: list[str], out: Path) -> float:
    """Read every small file and write target-sized zstd files: the floor for compaction."""
    started = time.perf_counter()
    data = pa.concat_tables(pq.read_table(p) for p in paths)
    per_file = max(1, int(data.num_rows * TARGET / max(1, data.nbytes)))
    for n, offset in enumerate(range(0, data.num_rows, per_file)):
        pq.write_table(data.slice(offset, per_file), out / f"big-{n}.parquet", compression="zstd")
    return time.perf_counter() - started


def _table(catalog: SqlCatalog, name: str, paths: list[str]) -> None:
    table = catalog.create_table(
        ("bench", name),
        pq.read_schema(paths[0]),
        properties={"format-version": "2", "write.parquet.compression-codec": "zstd"},
    )
    table.add_files(paths)


def _tuned_call(catalog: SqlCatalog, settings: SparkSettings) -> CallProcedure:
    """The call the differ plans for `bench.after` from its health and the cluster."""
    rule = Compaction(min_small_files=2, target_file_size=TARGET)
    spec = TableSpec("lake", ("bench",), "after", fields=(), policy="bench")
    health = read_health(catalog.load_table(("bench", "after")), spec.address, rule)
    cluster = cluster_of(settings.master, dict(settings.conf), settings.cores)
    policy = MaintenancePolicy(name="bench", compaction=rule)
    now = datetime.now(UTC)
    (line,) = assess_table(spec, policy, health, now, ignore_window=True, cluster=cluster).changes
    print(f"planned: {line.reason}")
    call = procedure_of(line.operations)
    assert call is not None
    return call


def _run(
    label: str, settings: SparkSettings, props: dict[str, str], call: CallProcedure, root: Path
) -> tuple[float, float]:
    """(procedure seconds, whole spark-submit seconds) of one compaction."""
    job = run_table_job(
        settings,
        catalog_conf("lake", props),
        [procedure_call("lake", ("bench", label), call, datetime.now(UTC))],
        state_dir=root / f"state-{label}",
        app_name=f"bench-compaction-{label}",
    )
    result = job.results[0]
    if not result.ok:
        sys.exit(f"{label}: compaction failed: {result.error or 'see ' + str(job.log_file)}")
    print(f"{label}: options {dict(call.options)} conf {dict(call.session_conf)}")
    print(f"{label}: {dict(result.result)}")
    return result.seconds, job.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument(
        "--after-first", action="store_true", help="run the tuned table first (order bias check)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-compaction-") as tmp:
        root = Path(tmp)
        for sub in ("warehouse", "incoming", "arrow"):
            (root / sub).mkdir()
        props = {
            "type": "sql",
            "uri": f"sqlite:///{root / 'catalog.db'}",
            "warehouse": (root / "warehouse").as_uri(),
        }
        catalog = SqlCatalog("lake", **props)
        catalog.create_namespace("bench")
        paths = make_files(root / "incoming", args.files, args.rows)
        for name in ("before", "after"):  # add_files: both tables read the same files
            _table(catalog, name, paths)
        size = sum(Path(p).stat().st_size for p in paths)
        mb = size / 1e6
        print(f"tables: {args.files} files, {args.files * args.rows:,} rows, {mb:.1f} MB each")

        arrow_s = pyarrow_rewrite(paths, root / "arrow")
        scan_before = scan_seconds(catalog, "before")
        settings = SparkSettings()
        before = CallProcedure(
            "rewrite_data_files",
            (("strategy", "binpack"),),
            (
                ("min-file-size-bytes", str(32 * 1024 * 1024)),
                ("target-file-size-bytes", str(TARGET)),
            ),
        )
        calls = {"before": before, "after": _tuned_call(catalog, settings)}
        order = ("after", "before") if args.after_first else ("before", "after")
        ran = {label: _run(label, settings, props, calls[label], root) for label in order}
        figures = {label: ran[label] for label in ("before", "after")}
        scan_after = scan_seconds(catalog, "after")
        print(f"pyarrow read+write (floor): {arrow_s:.1f} s = {mb / arrow_s:.1f} MB/s")
        header = f"{'':8} {'procedure':>22} {'whole spark-submit':>24}"
        print(f"{header}  ratio to floor (goal 0.5 / 0.4)")
        for label, (procedure_s, whole_s) in figures.items():
            print(
                f"{label:8} {procedure_s:7.1f} s {mb / procedure_s:6.1f} MB/s "
                f"{whole_s:9.1f} s {mb / whole_s:6.1f} MB/s  "
                f"{arrow_s / procedure_s:.2f} / {arrow_s / whole_s:.2f}"
            )
        print(
            f"full scan before: {scan_before:.3f} s, after: {scan_after:.3f} s, "
            f"ratio before/after: {scan_before / scan_after:.1f}x"
        )


if __name__ == "__main__":
    main()
