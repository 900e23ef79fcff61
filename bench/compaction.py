"""Compaction benchmark: Spark rewrite_data_files vs a plain pyarrow rewrite, and scan time
before vs after, on one table of many small files (SQLite catalog in a temp dir).

    .venv/bin/python bench/compaction.py [--files 400] [--rows 20000]
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

from reconciler.plan.maintenance_ops import CallProcedure
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


def scan_seconds(catalog: SqlCatalog, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        rows = catalog.load_table("bench.events").scan().to_arrow().num_rows
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-compaction-") as tmp:
        root = Path(tmp)
        (root / "warehouse").mkdir()
        (root / "incoming").mkdir()
        (root / "arrow").mkdir()
        props = {
            "type": "sql",
            "uri": f"sqlite:///{root / 'catalog.db'}",
            "warehouse": (root / "warehouse").as_uri(),
        }
        catalog = SqlCatalog("lake", **props)
        catalog.create_namespace("bench")
        paths = make_files(root / "incoming", args.files, args.rows)
        table = catalog.create_table(
            "bench.events",
            pq.read_schema(paths[0]),
            properties={"format-version": "2", "write.parquet.compression-codec": "zstd"},
        )
        table.add_files(paths)
        size = sum(Path(p).stat().st_size for p in paths)
        mb = size / 1e6
        print(f"table: {args.files} files, {args.files * args.rows:,} rows, {mb:.1f} MB")

        arrow_s = pyarrow_rewrite(paths, root / "arrow")
        scan_before = scan_seconds(catalog)
        call = CallProcedure(
            "rewrite_data_files",
            (("strategy", "binpack"),),
            (
                ("min-file-size-bytes", str(32 * 1024 * 1024)),
                ("target-file-size-bytes", str(TARGET)),
            ),
        )
        job = run_table_job(
            SparkSettings(),
            catalog_conf("lake", props),
            [procedure_call("lake", ("bench", "events"), call, datetime.now(UTC))],
            state_dir=root / "state",
            app_name="bench-compaction",
        )
        result = job.results[0]
        if not result.ok:
            sys.exit(f"compaction failed: {result.error or 'see ' + str(job.log_file)}")
        scan_after = scan_seconds(catalog)
        procedure_s = result.seconds
        print(f"spark rewrite_data_files: {dict(result.result)}")
        print(
            f"spark procedure: {procedure_s:.1f} s = {mb / procedure_s:.1f} MB/s; "
            f"whole spark-submit {job.seconds:.1f} s = {mb / job.seconds:.1f} MB/s"
        )
        print(f"pyarrow read+write: {arrow_s:.1f} s = {mb / arrow_s:.1f} MB/s")
        print(
            f"ratio spark(procedure)/pyarrow throughput: {arrow_s / procedure_s:.2f}; "
            f"spark(submit)/pyarrow: {arrow_s / job.seconds:.2f}"
        )
        print(
            f"full scan before: {scan_before:.3f} s, after: {scan_after:.3f} s, "
            f"ratio before/after: {scan_before / scan_after:.1f}x"
        )


if __name__ == "__main__":
    main()
