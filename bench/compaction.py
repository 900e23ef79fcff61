"""Compaction benchmark: Spark rewrite_data_files vs a plain pyarrow rewrite, and scan time
before vs after, on tables of many small files (SQLite catalog in a temp dir).

Three identical tables are compacted side by side in one run: "before" and "after" each in
its own spark-submit, "before" with the options maintenance used to send (sizes only),
"after" with the call the differ plans today from the table's real health and the cluster
(file groups, concurrency, partial progress, Spark SQL session conf); "connect" by
`reconcile maintain --now` (a subprocess, as users run it) with `spark.remote` on a Spark
Connect server started and warmed before the clock (its conf: `--server-conf`). Procedure
time is the call's own (its outcome), whole is the spark-submit or the `maintain` process.
Goals (issue 15): procedure >= 0.5x the pyarrow floor's throughput, whole run >= 0.4x.

    .venv/bin/python bench/compaction.py [--files 400] [--rows 20000] [--after-first]
        [--no-connect] [--server-conf KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import re
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

import maintain_cli as cli

from reconciler.diff.compaction_tuning import cluster_of
from reconciler.diff.maintenance import assess_table
from reconciler.model.policies import Compaction, MaintenancePolicy
from reconciler.model.tables import MANAGED_BY_PROPERTY, MANAGED_BY_VALUE, TableSpec
from reconciler.plan.maintenance_ops import CallProcedure, procedure_of
from reconciler.providers.iceberg.health import read_health
from reconciler.providers.spark.jobs import catalog_conf
from reconciler.providers.spark.procedures import procedure_call
from reconciler.providers.spark.runner import run_table_job
from reconciler.settings import SparkSettings
from reconciler.testing.spark_connect import start_server

TARGET = 128 * 1024 * 1024
# The rule _tuned_call plans with, as a policy file (smallFileSize: the default, as there)
POLICY = """apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata: {name: bench}
spec:
  compaction: {minSmallFiles: 2, targetFileSize: 128MiB}
"""
COLUMNS = (
    "    - {name: id, type: long}\n    - {name: name, type: string}\n"
    "    - {name: amount, type: double}"
)


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
        properties={
            "format-version": "2",
            "write.parquet.compression-codec": "zstd",
            MANAGED_BY_PROPERTY: MANAGED_BY_VALUE,  # `maintain` (the connect column) needs it
        },
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


def _connect(
    root: Path, catalog: SqlCatalog, conf: dict[str, str], files: int
) -> tuple[float, float]:
    """(procedure seconds, whole `reconcile maintain --now` seconds) through a warm server."""
    ws = cli.write_specs(root, ["connect"], COLUMNS, policy=POLICY)
    rows = catalog.load_table(("bench", "connect")).scan().to_arrow().num_rows
    server = start_server({"lake": ws.props}, root / "spark-connect.log", conf=conf)
    try:
        warm_s = cli.warm(server.url, ws, 20, rows=max(1, rows // files))
        cli.write_config(ws, {"remote": server.url})
        ran = cli.run(ws, "maintain", "--now", "--output", "json")
    finally:
        server.stop()
    got = [o for o in cli.outcomes(ran) if o["action"] == "rewrite_data_files"]
    assert len(got) == 1, ran.stdout
    after = catalog.load_table(("bench", "connect"))
    assert after.scan().to_arrow().num_rows == rows and len(after.inspect.files()) < files
    seconds = re.search(r" in (\d+(?:\.\d+)?)s$", got[0]["message"])
    assert seconds is not None, got[0]["message"]
    print(f"connect: server conf {conf} (warm-up {warm_s:.1f} s before the clock)")
    print(f"connect: {got[0]['message']}; maintain peak RSS {ran.peak_rss_mib:.0f} MiB")
    return float(seconds.group(1)), ran.seconds


def _pairs(values: list[str]) -> dict[str, str]:
    pairs = dict(v.split("=", 1) for v in values if "=" in v)
    if len(pairs) != len(values):
        sys.exit(f"--server-conf takes KEY=VALUE: {values}")
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument(
        "--after-first", action="store_true", help="run the tuned table first (order bias check)"
    )
    parser.add_argument("--no-connect", action="store_true", help="submit mode only")
    parser.add_argument(
        "--server-conf", action="append", default=[], help="KEY=VALUE for the Connect server"
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
        for name in ("before", "after", "connect"):  # add_files: all read the same files
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
        if not args.no_connect:
            figures["connect"] = _connect(root, catalog, _pairs(args.server_conf), args.files)
        scan_after = scan_seconds(catalog, "after")
        print(f"pyarrow read+write (floor): {arrow_s:.1f} s = {mb / arrow_s:.1f} MB/s")
        header = f"{'':8} {'procedure':>22} {'whole run':>24}"
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
