"""Per-table gauges served by a real `reconcile daemon` over HTTP, after cycles on a real
SQLite catalog: figures the plan observed, results seeded from history, removal with the spec."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import requests
from daemon_gitrepo import Origin, free_port
from daemon_harness import DaemonProcess, write_config

from reconciler.store import ActionRecord, CycleRecord, Store

TABLE = """apiVersion: reconciler/v1
kind: Table
metadata: {{name: {name}}}
spec:
  catalog: lake
  namespace: {name}
  name: {name}
  policy: nightly
  schema:
    - {{name: id, type: long, required: true}}
"""
# A window that opens one minute a year: maintenance is deferred, so no Spark job runs.
NIGHTLY = """apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata: {name: nightly}
spec:
  window: {schedule: "0 0 1 1 *", duration: 1m, timezone: UTC}
  compaction: {minSmallFiles: 2}
"""
SEEDED_AT = "2026-01-01T00:00:10+00:00"


def _scrape(url: str) -> dict[str, float]:
    samples = {}
    for line in requests.get(url, timeout=5).text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def _append(state: Path, name: str, files: int) -> None:
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog(
        "lake", uri=f"sqlite:///{state}/catalog.db", warehouse=f"file://{state}/warehouse"
    )
    table = catalog.load_table(f"{name}.{name}")
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False)])
    for i in range(files):
        table.append(pa.Table.from_pylist([{"id": i}], schema=schema))


def test_daemon_serves_per_table_gauges_and_drops_a_removed_table(
    origin: Origin, pvesim: Any, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    origin.commit(
        {
            "specs/events.yaml": TABLE.format(name="events"),
            "specs/old.yaml": TABLE.format(name="old"),
            "specs/nightly.yaml": NIGHTLY,
        }
    )
    port = free_port()
    config = write_config(
        tmp_path, origin.url, pvesim, poll="1s", drift="1s", metrics=f"127.0.0.1:{port}"
    )
    runs = (
        ActionRecord("table/lake.events.events", "rewrite_data_files", "applied", "", 3.0),
        ActionRecord("table/lake.old.old", "expire_snapshots", "failed", "boom", 1.0),
    )
    Store(tmp_path / "state").record(  # an earlier run's history: the gauges start from it
        CycleRecord("2026-01-01T00:00:00+00:00", SEEDED_AT, 10.0, None, "poll", "failed",
                    actions=runs)
    )  # fmt: skip
    daemon = DaemonProcess(config, pvesim).start()
    daemons.append(daemon)
    url = f"http://127.0.0.1:{port}/metrics"
    daemon.until("tables created", lambda: daemon.status()["last_result"] == "success")
    appended = time.time()
    _append(tmp_path / "state", "events", 3)
    events = '{table="lake.events.events"}'
    got = daemon.until(
        "figures of the appended files",
        lambda: (s := _scrape(url)).get("reconciler_table_data_files" + events) == 3 and s,
    )
    assert got["reconciler_table_small_files" + events] == 3  # read: a trigger may be crossed
    assert got["reconciler_table_records" + events] == 3
    assert got["reconciler_table_snapshots" + events] == 3
    assert got["reconciler_table_manifests" + events] == 3
    assert got["reconciler_table_delete_files" + events] == 0
    assert 0 < got["reconciler_table_total_bytes" + events] < 64 * 1024
    age = got["reconciler_table_oldest_snapshot_age_seconds" + events]
    assert 0 <= age <= time.time() - appended + 1
    assert got["reconciler_table_health_timestamp_seconds" + events] >= appended
    assert got['reconciler_table_data_files{table="lake.old.old"}'] == 0  # empty, still there
    seeded = '{procedure="rewrite_data_files",table="lake.events.events"}'
    assert got["reconciler_table_maintenance_last_success" + seeded] == 1
    assert got["reconciler_table_maintenance_last_timestamp_seconds" + seeded] == 1767225610
    failed = '{procedure="expire_snapshots",table="lake.old.old"}'
    assert got["reconciler_table_maintenance_last_success" + failed] == 0

    origin.commit({"specs/old.yaml": None}, "old leaves the specs")
    gone = daemon.until(
        "old's series removed",
        lambda: (s := _scrape(url)) and not any('table="lake.old.old"' in k for k in s) and s,
    )
    assert gone["reconciler_table_data_files" + events] == 3
    assert gone["reconciler_table_maintenance_last_success" + seeded] == 1
