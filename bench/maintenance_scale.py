"""Maintenance at scale through what users run: `reconcile maintain --now` as a subprocess,
on N due tables of small files, three ways side by side in one run (issue 15's figures).

    .venv/bin/python bench/maintenance_scale.py [--tables 20] [--files 30] [--parallel 2]
    .venv/bin/python bench/maintenance_scale.py --tables 3      # quick mode

Each column compacts its own fresh copy of the tables (its own SQLite catalog, file
warehouse, specs and config): a. one `reconcile maintain --now TABLE` per table, one after
another (one spark-submit each: before issue 15); b. one `reconcile maintain --now` for all
tables (one Spark application per run); c. the same with `spark.remote` against a Spark
Connect server started and warmed before the clock, with that process's peak RSS and
whether any java process ran below it. Rows (count) are checked identical per table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import maintain_cli as cli

from reconciler.testing.spark_connect import start_server

SCHEMA = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string())])
COLUMNS = "    - {name: id, type: long, required: true}\n    - {name: name, type: string}"
GOALS = {"b": 0.25, "c": 0.1}
RSS_GOAL_MB = 200


def lake(root: Path, args: argparse.Namespace) -> cli.Workspace:
    names = [f"t{n:02d}" for n in range(args.tables)]
    ws = cli.workspace(
        root, names, COLUMNS, SCHEMA, parallel=args.parallel, spark=cli.submit_spark(args.parallel)
    )
    catalog = ws.catalog()
    for name in names:
        cli.append_small(catalog, name, args.files, SCHEMA)
    return ws


def check(ws: cli.Workspace, before: dict[str, tuple[int, int]]) -> None:
    catalog = ws.catalog()
    for name in ws.tables:
        rows, files = cli.rows_and_files(catalog, name)
        if rows != before[name][0] or files >= before[name][1]:
            sys.exit(
                f"{ws.root.name}/{name}: {before[name]} (rows, files) before, {rows, files} after"
            )


def counts(ws: cli.Workspace) -> dict[str, tuple[int, int]]:
    catalog = ws.catalog()
    return {name: cli.rows_and_files(catalog, name) for name in ws.tables}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", type=int, default=20)
    parser.add_argument("--files", type=int, default=30)
    parser.add_argument("--parallel", type=int, default=2, help="the policy's maxConcurrentJobs")
    args = parser.parse_args()
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        lakes = {col: lake(root / col, args) for col in ("a", "b", "c")}
        before = {col: counts(ws) for col, ws in lakes.items()}
        print(
            f"tables: 3 x {args.tables} x {args.files} small files written in "
            f"{time.perf_counter() - started:.1f} s; maxConcurrentJobs {args.parallel}, local[2]",
            flush=True,
        )
        wall: dict[str, float] = {}
        java: dict[str, tuple[str, ...]] = {}

        ws = lakes["a"]
        wall["a"], seen = 0.0, []
        for name in ws.tables:
            ran = cli.run(ws, "maintain", "--now", "--output", "json", f"{cli.NAMESPACE}.{name}")
            assert len(cli.outcomes(ran)) >= 1
            wall["a"] += ran.seconds
            seen.extend(ran.java_seen)
        java["a"] = tuple(seen)
        check(ws, before["a"])
        print(f"a. one maintain (spark-submit) per table: {wall['a']:7.1f} s", flush=True)

        ws = lakes["b"]
        ran = cli.run(ws, "maintain", "--now", "--output", "json")
        assert len(cli.outcomes(ran)) >= args.tables
        wall["b"], java["b"] = ran.seconds, ran.java_seen
        check(ws, before["b"])
        print(f"b. one maintain, one application:        {wall['b']:7.1f} s", flush=True)

        ws = lakes["c"]
        server = start_server({"lake": ws.props}, root / "spark-connect.log")
        try:
            warm_s = cli.warm(server.url, ws, args.files)
            cli.write_config(ws, {"remote": server.url})
            ran = cli.run(ws, "maintain", "--now", "--output", "json")
            assert len(cli.outcomes(ran)) >= args.tables
        finally:
            server.stop()
        wall["c"], java["c"], rss = ran.seconds, ran.java_seen, ran.peak_rss_mib
        check(ws, before["c"])
    load_end = os.getloadavg()
    print()
    print(f"{args.tables} due tables x {args.files} small files, `reconcile maintain --now` wall:")
    print(f"a. one maintain per table (today):       {wall['a']:7.1f} s")
    print(
        f"b. one maintain, one Spark application:  {wall['b']:7.1f} s  "
        f"b/a {wall['b'] / wall['a']:.3f} (goal <= {GOALS['b']})"
    )
    print(
        f"c. one maintain, warm Spark Connect:     {wall['c']:7.1f} s  "
        f"c/a {wall['c'] / wall['a']:.3f} (goal <= {GOALS['c']}; warm-up {warm_s:.1f} s "
        "before the clock)"
    )
    mb = rss * 1.048576
    print(
        f"c. reconciler process peak RSS {rss:.0f} MiB = {mb:.0f} MB (goal <= {RSS_GOAL_MB} MB); "
        f"java descendants: {', '.join(java['c']) or 'none'}"
    )
    print(f"a/b java descendants seen: {len(set(java['a']))} / {len(set(java['b']))}")
    print("rows (count) identical before/after in every table; every table compacted")
    print(f"load average at start {load_start[0]:.2f}, at end {load_end[0]:.2f} (1 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
