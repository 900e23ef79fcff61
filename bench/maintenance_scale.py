"""Maintenance at scale through what users run: `reconcile maintain --now` as a subprocess,
on N due tables of small files, three ways side by side in one run (issue 15's figures).

    .venv/bin/python bench/maintenance_scale.py [--tables 20] [--files 30] [--parallel 2]
    .venv/bin/python bench/maintenance_scale.py --tables 3      # quick mode
    .venv/bin/python bench/maintenance_scale.py --columns c     # Connect only (RSS, no JVM)

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


def column_a(ws: cli.Workspace) -> tuple[float, tuple[str, ...]]:
    wall, seen = 0.0, []
    for name in ws.tables:
        ran = cli.run(ws, "maintain", "--now", "--output", "json", f"{cli.NAMESPACE}.{name}")
        assert len(cli.outcomes(ran)) >= 1
        wall += ran.seconds
        seen.extend(ran.java_seen)
    return wall, tuple(seen)


def column_b(ws: cli.Workspace) -> cli.Ran:
    ran = cli.run(ws, "maintain", "--now", "--output", "json")
    assert len(cli.outcomes(ran)) >= len(ws.tables)
    return ran


def column_c(ws: cli.Workspace, root: Path, files: int) -> tuple[cli.Ran, float]:
    """(the run, warm-up seconds before the clock) against a fresh warmed server."""
    server = start_server({"lake": ws.props}, root / "spark-connect.log")
    try:
        warm_s = cli.warm(server.url, ws, files)
        cli.write_config(ws, {"remote": server.url})
        ran = cli.run(ws, "maintain", "--now", "--output", "json")
        assert len(cli.outcomes(ran)) >= len(ws.tables)
    finally:
        server.stop()
    return ran, warm_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", type=int, default=20)
    parser.add_argument("--files", type=int, default=30)
    parser.add_argument("--parallel", type=int, default=2, help="the policy's maxConcurrentJobs")
    parser.add_argument(
        "--columns", default="abc", help="which columns to run (ratios need a): e.g. c"
    )
    args = parser.parse_args()
    columns = [col for col in "abc" if col in args.columns]
    if not columns or set(args.columns) - set("abc"):
        parser.error("--columns takes letters of abc")
    load_start = os.getloadavg()
    wall: dict[str, float] = {}
    java: dict[str, tuple[str, ...]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        lakes = {col: lake(root / col, args) for col in columns}
        before = {col: counts(ws) for col, ws in lakes.items()}
        print(
            f"tables: {len(columns)} x {args.tables} x {args.files} small files written in "
            f"{time.perf_counter() - started:.1f} s; maxConcurrentJobs {args.parallel}, local[2]",
            flush=True,
        )
        if "a" in lakes:
            wall["a"], java["a"] = column_a(lakes["a"])
            check(lakes["a"], before["a"])
            print(f"a. one maintain (spark-submit) per table: {wall['a']:7.1f} s", flush=True)
        if "b" in lakes:
            ran = column_b(lakes["b"])
            wall["b"], java["b"] = ran.seconds, ran.java_seen
            check(lakes["b"], before["b"])
            print(f"b. one maintain, one application:        {wall['b']:7.1f} s", flush=True)
        if "c" in lakes:
            ran, warm_s = column_c(lakes["c"], root, args.files)
            wall["c"], java["c"], rss = ran.seconds, ran.java_seen, ran.peak_rss_mib
            check(lakes["c"], before["c"])
    load_end = os.getloadavg()
    print()
    print(f"{args.tables} due tables x {args.files} small files, `reconcile maintain --now` wall:")
    if "a" in wall:
        print(f"a. one maintain per table (today):       {wall['a']:7.1f} s")
    ratio = {
        col: f"  {col}/a {wall[col] / wall['a']:.3f} (goal <= {GOALS[col]})" if "a" in wall else ""
        for col in wall
    }
    if "b" in wall:
        print(f"b. one maintain, one Spark application:  {wall['b']:7.1f} s{ratio['b']}")
    if "c" in wall:
        print(
            f"c. one maintain, warm Spark Connect:     {wall['c']:7.1f} s{ratio['c']} "
            f"(warm-up {warm_s:.1f} s before the clock)"
        )
        mb = rss * 1.048576
        print(
            f"c. reconciler process peak RSS {rss:.0f} MiB = {mb:.0f} MB "
            f"(goal <= {RSS_GOAL_MB} MB); java descendants: {', '.join(java['c']) or 'none'}"
        )
    if "a" in java and "b" in java:
        print(f"a/b java descendants seen: {len(set(java['a']))} / {len(set(java['b']))}")
    print("rows (count) identical before/after in every table; every table compacted")
    print(f"load average at start {load_start[0]:.2f}, at end {load_end[0]:.2f} (1 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
