"""Maintenance at scale: N due tables of small files, compacted one spark-submit per table
(the old way) vs all in one Spark application (a run's way since issue 15), side by side.

    .venv/bin/python bench/maintenance_scale.py [--tables 3] [--files 30] [--parallel 2] [--connect]

--connect adds a third column: the same calls through a warm Spark Connect server
(`spark.remote`; started and warmed before the clock starts), with this process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reconciler.plan.maintenance_ops import CallProcedure
from reconciler.providers.spark.application import SparkApplication, TableJob
from reconciler.providers.spark.connect import ConnectApplication
from reconciler.providers.spark.jobs import (
    RUNTIME_PACKAGE,
    ProcedureCall,
    catalog_conf,
    maven_path,
    procedure_call,
)
from reconciler.providers.spark.runner import run_table_job
from reconciler.settings import SparkSettings
from reconciler.testing.spark_connect import start_server

SCHEMA = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string())])


def make_tables(catalog: SqlCatalog, prefix: str, tables: int, files: int) -> list[str]:
    names = []
    for t in range(tables):
        table = catalog.create_table(f"ns.{prefix}{t}", SCHEMA)
        for n in range(files):
            ids = list(range(n * 100, n * 100 + 100))
            table.append(pa.table({"id": ids, "name": [str(i) for i in ids]}, SCHEMA))
        names.append(f"{prefix}{t}")
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", type=int, default=3)
    parser.add_argument("--files", type=int, default=30)
    parser.add_argument("--parallel", type=int, default=2, help="maxConcurrentJobs")
    parser.add_argument("--connect", action="store_true", help="also through Spark Connect")
    args = parser.parse_args()
    jar = maven_path(RUNTIME_PACKAGE, Path.home() / ".m2" / "repository")
    settings = SparkSettings(jars=(str(jar),) if Path(jar).is_file() else ())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        props = {"uri": f"sqlite:///{root / 'c.db'}", "warehouse": (root / "wh").as_uri()}
        (root / "wh").mkdir()
        catalog = SqlCatalog("bench", **props)
        catalog.create_namespace("ns")
        old = make_tables(catalog, "per_submit_", args.tables, args.files)
        new = make_tables(catalog, "one_app_", args.tables, args.files)
        conf = catalog_conf("bench", {"type": "sql", **props})

        def calls(name: str) -> tuple[ProcedureCall, ...]:
            call = CallProcedure("rewrite_data_files")
            return (procedure_call("bench", ("ns", name), call, datetime.now(UTC)),)

        started = time.perf_counter()
        for name in old:
            job = run_table_job(
                settings, conf, calls(name), state_dir=root / "state", app_name=name
            )
            assert all(r.ok for r in job.results), job.log_file.read_text()[-2000:]
        per_submit = time.perf_counter() - started

        started = time.perf_counter()
        app = SparkApplication(
            settings,
            conf,
            [TableJob(name, calls(name), "bench") for name in new],
            state_dir=root / "state",
            app_name="bench-one-app",
            pools={"bench": args.parallel},
        )
        app.start()
        results = [app.result(name) for name in new]
        app.close()
        one_app = time.perf_counter() - started
        assert all(r.ok for job in results for r in job.results), app.log_file.read_text()[-2000:]
        for name in new:
            assert len(catalog.load_table(f"ns.{name}").inspect.files()) == 1
        connect = None
        if args.connect:
            remote = make_tables(catalog, "connect_", args.tables, args.files)
            server = start_server({"bench": {"type": "sql", **props}}, root / "connect.log")
            try:
                warm = SparkSettings(remote=server.url)
                probe = (ProcedureCall(calls(remote[0])[0].action, "SELECT 1"),)
                warm_up = ConnectApplication(
                    warm, [(TableJob("warm", probe), "bench")], state_dir=root / "state",
                    app_name="bench-warm", pools={},
                )  # fmt: skip
                warm_up.start()
                warm_up.result("warm")
                warm_up.close()
                started = time.perf_counter()
                capp = ConnectApplication(
                    warm,
                    [(TableJob(name, calls(name), "bench"), "bench") for name in remote],
                    state_dir=root / "state",
                    app_name="bench-connect",
                    pools={"bench": args.parallel},
                )
                capp.start()
                cresults = [capp.result(name) for name in remote]
                capp.close()
                connect = time.perf_counter() - started
                assert all(r.ok for job in cresults for r in job.results), [
                    r.error for job in cresults for r in job.results
                ]
            finally:
                server.stop()
            for name in remote:
                assert len(catalog.load_table(f"ns.{name}").inspect.files()) == 1
    print(f"tables: {args.tables} x {args.files} small files, maxConcurrentJobs {args.parallel}")
    print(f"one spark-submit per table: {per_submit:6.1f} s wall")
    print(f"one Spark application:      {one_app:6.1f} s wall ({one_app / per_submit:.2f}x)")
    if connect is not None:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        print(
            f"Spark Connect (warm):       {connect:6.1f} s wall ({connect / per_submit:.2f}x), "
            f"this process's peak RSS {rss:.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
