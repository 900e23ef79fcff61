"""What the maintenance benches share: a workspace (config, specs, SQLite catalog, file
warehouse) and `reconcile maintain --now` run as a real subprocess, timed, with its peak RSS
and whether a java process ever ran below it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reconciler.model.tables import MANAGED_BY_PROPERTY, MANAGED_BY_VALUE
from reconciler.providers.spark.jobs import RUNTIME_PACKAGE, maven_path
from reconciler.testing.procs import java_descendants

RECONCILE = str(Path(sys.executable).parent / "reconcile")
# wait4's ru_maxrss of a child forked from this process starts from this process's RSS at
# the fork (Linux carries the pre-exec high-water mark over exec), and a bench holding its
# generated tables is far bigger than `reconcile`: a 400-file bench read 475 MiB for a
# process that peaked at 210. So a small launcher (python -S, ~8 MiB) forks the command and
# reports the command's own rusage.
LAUNCHER = """\
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""
M2 = Path(os.environ.get("M2_REPO", Path.home() / ".m2" / "repository"))
NAMESPACE = "bench"
POLICY = """apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata: {{name: bench}}
spec:
  maxConcurrentJobs: {parallel}
  compaction: {{smallFileSize: 16MiB, minSmallFiles: 10, targetFileSize: 128MiB}}
"""
TABLE = """apiVersion: reconciler/v1
kind: Table
metadata: {{name: bench-{name}}}
spec:
  catalog: lake
  namespace: {namespace}
  name: {name}
  schema:
{columns}
  policy: bench
"""


@dataclass
class Workspace:
    """One column's own lake: its catalog, warehouse, specs, state and config."""

    root: Path
    tables: list[str] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.root / "reconciler.yaml"

    @property
    def props(self) -> dict[str, str]:
        return {
            "type": "sql",
            "uri": f"sqlite:///{self.root / 'catalog.db'}",
            "warehouse": (self.root / "warehouse").as_uri(),
        }

    def catalog(self) -> SqlCatalog:
        props = self.props
        return SqlCatalog("lake", **{k: v for k, v in props.items() if k != "type"})


def workspace(
    root: Path,
    names: list[str],
    columns: str,
    schema: pa.Schema,
    *,
    parallel: int,
    spark: dict[str, Any],
) -> Workspace:
    """Write config and specs for `names` (YAML `columns` lines, the same as `schema`) and
    create the tables, empty and owned."""
    ws = write_specs(root, names, columns, policy=POLICY.format(parallel=parallel))
    write_config(ws, spark)
    catalog = ws.catalog()
    catalog.create_namespace(NAMESPACE)
    for name in names:  # as `apply` creates them: owned (apply would also need Proxmox)
        catalog.create_table(
            (NAMESPACE, name), schema, properties={MANAGED_BY_PROPERTY: MANAGED_BY_VALUE}
        )
    return ws


def write_specs(root: Path, names: list[str], columns: str, *, policy: str) -> Workspace:
    """Specs of `names` in NAMESPACE (YAML `columns` lines) under the `bench` policy."""
    ws = Workspace(root, names)
    for sub in ("warehouse", "specs/tables", "specs/policies", "state"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "specs/policies/bench.yaml").write_text(policy)
    for name in names:
        text = TABLE.format(name=name, namespace=NAMESPACE, columns=columns)
        (root / "specs/tables" / f"{name}.yaml").write_text(text)
    return ws


def warm(url: str, ws: Workspace, files: int, rows: int = 1) -> float:
    """Make a Spark Connect server warm as a nightly one is: a rewrite has run on it (a
    table outside the specs, in its own namespace), so its JIT and catalog are warm."""
    from pyspark.sql import SparkSession

    schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string())])
    catalog = ws.catalog()
    catalog.create_namespace("warm")
    table = catalog.create_table(("warm", "w"), schema)
    for n in range(files):
        ids = list(range(n * rows, (n + 1) * rows))
        table.append(pa.table({"id": ids, "name": [str(i) for i in ids]}, schema))
    started = time.perf_counter()
    session = SparkSession.builder.remote(url).create()
    session.sql("CALL lake.system.rewrite_data_files(table => 'warm.w')").collect()
    session.sql("SELECT count(*) FROM lake.warm.w").collect()
    session.stop()
    return time.perf_counter() - started


def write_config(ws: Workspace, spark: dict[str, Any]) -> None:
    """JSON is YAML: the config without a YAML writer."""
    config = {"specs": "specs", "state_dir": "state", "catalogs": {"lake": ws.props}}
    config["spark"] = {"timeout": 1800, **spark}
    ws.config.write_text(json.dumps(config, indent=2) + "\n")


def submit_spark(parallel: int) -> dict[str, Any]:
    """The submit mode's config: local[2], the Iceberg runtime from the local Maven repository."""
    jar = Path(maven_path(RUNTIME_PACKAGE, M2))
    if not jar.is_file():
        sys.exit(f"{jar} missing: run .ci/jars")
    return {"master": "local[2]", "jars": [str(jar)], "cores": 2}


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mib: float
    java_seen: tuple[str, ...]


def run(ws: Workspace, *args: str) -> Ran:
    """`reconcile --config CONFIG ARGS...` as a child process: wall seconds, its peak RSS
    (wait4's rusage of the command, through LAUNCHER: the command and any descendants it
    waited for) and java descendants."""
    out, err = ws.root / "stdout.txt", ws.root / "stderr.txt"
    rss_file = ws.root / "peak-rss-kib.txt"
    argv = [sys.executable, "-S", "-c", LAUNCHER, str(rss_file), RECONCILE]
    argv += ["--config", str(ws.config), *args]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)
        seen: set[str] = set()
        stop = threading.Event()
        watcher = threading.Thread(target=_watch_java, args=(process.pid, seen, stop))
        watcher.start()
        process.wait()
        seconds = time.perf_counter() - started
        stop.set()
        watcher.join()
    return Ran(
        process.returncode,
        out.read_text(),
        err.read_text(),
        seconds,
        int(rss_file.read_text()) / 1024,  # KiB on Linux
        tuple(sorted(seen)),
    )


def _watch_java(root: int, seen: set[str], stop: threading.Event) -> None:
    while not stop.is_set():
        seen.update(java_descendants(root))
        stop.wait(0.2)


def outcomes(ran: Ran) -> list[dict[str, Any]]:
    """The outcomes of `maintain --output json` (exits on a failed run, with its errors)."""
    try:
        doc = json.loads(ran.stdout)
    except ValueError:
        sys.exit(f"maintain exited {ran.returncode}: {ran.stderr[-3000:]}")
    got: list[dict[str, Any]] = doc.get("outcomes", [])
    bad = [o for o in got if o["status"] != "applied"]
    if ran.returncode != 0 or bad or not got:
        sys.exit(f"maintain exited {ran.returncode}: {bad or ran.stderr[-3000:]}")
    return got


def rows_and_files(catalog: SqlCatalog, name: str) -> tuple[int, int]:
    table = catalog.load_table((NAMESPACE, name))
    return table.scan().to_arrow().num_rows, len(table.inspect.files())


def append_small(catalog: SqlCatalog, name: str, files: int, schema: pa.Schema) -> None:
    table = catalog.load_table((NAMESPACE, name))
    for n in range(files):
        ids = list(range(n * 100, n * 100 + 100))
        table.append(pa.table({"id": ids, "name": [str(i) for i in ids]}, schema))
