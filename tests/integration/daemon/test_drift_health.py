"""`reconcile drift` reports table health against policy (real pyiceberg tables, real git)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from daemon_gitrepo import Origin
from daemon_harness import write_config

from reconciler.daemon.status import drift
from reconciler.engine import RunOptions, reconcile_once
from reconciler.sources.config import load_settings
from reconciler.wiring import build_deps

TABLE = """apiVersion: reconciler/v1
kind: Table
metadata: {{name: {name}}}
spec:
  catalog: lake
  namespace: {name}  # one each: parallel creates of one new namespace race
  name: {name}
  policy: {policy}
  drift: {drift}
  schema:
    - {{name: id, type: long, required: true}}
"""

POLICY = """apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata: {{name: {name}}}
spec:
  {window}
  compaction: {{minSmallFiles: 2}}
"""

# Opens for one minute a year: the lines of its tables are deferred (Jan 1 00:00 UTC aside).
CLOSED = 'window: {schedule: "0 0 1 1 *", duration: 1m, timezone: UTC}'


def _two_small_files(state: Path, name: str) -> None:
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog(
        "lake", uri=f"sqlite:///{state}/catalog.db", warehouse=f"file://{state}/warehouse"
    )
    table = catalog.load_table(f"{name}.{name}")
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False)])
    for first in (1, 2):  # each append writes one small data file
        table.append(pa.Table.from_pylist([{"id": first}], schema=schema))


def test_drift_includes_table_health_against_policy(
    origin: Origin, pvesim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    origin.commit(
        {
            "specs/events.yaml": TABLE.format(name="events", policy="now", drift="enforce"),
            "specs/logs.yaml": TABLE.format(name="logs", policy="nightly", drift="ignore"),
            "specs/now.yaml": POLICY.format(name="now", window=""),
            "specs/nightly.yaml": POLICY.format(name="nightly", window=CLOSED),
        },
        "two tables, two policies",
    )
    settings = load_settings(write_config(tmp_path, origin.url, pvesim))
    monkeypatch.setenv("PVE_TOKEN_SECRET", pvesim.token_secret)
    options = RunOptions(apply=True, maintenance=False)
    created = reconcile_once(settings, origin.clone / "specs", options, None, build_deps(settings))
    assert created.error is None and not created.failed, [o.message for o in created.outcomes]
    assert json.loads(drift(settings, "json"))["drift"] == []  # empty tables are healthy
    for name in ("events", "logs"):
        _two_small_files(settings.state_dir, name)

    doc = json.loads(drift(settings, "json"))
    entries = {e["address"]: e for e in doc["drift"]}
    assert set(entries) == {"table/lake.events.events", "table/lake.logs.logs"}
    due, deferred = entries["table/lake.events.events"], entries["table/lake.logs.logs"]
    assert (due["kind"], due["action"], due["fields"]) == ("health", "rewrite_data_files", [])
    assert "2 data files under 32MiB" in due["reason"] and due["since"] <= doc["generated_at"]
    # health is not drift: a table whose drift mode is ignore still shows it
    assert (deferred["kind"], deferred["action"], deferred["fields"]) == ("health", "deferred", [])
    assert "rewrite_data_files due" in deferred["reason"] and "0 0 1 1 *" in deferred["reason"]
    assert set(due) == {"address", "fields", "since", "action", "reason", "commit", "kind"}

    text = drift(settings, "text")
    assert text.startswith("No drift (") and "Table health" in text
    assert "  rewrite_data_files table/lake.events.events  since " in text
    assert "2 table(s) with maintenance due." in text
    markdown = drift(settings, "markdown")
    assert "**No drift.**" in markdown and "## Table health" in markdown
    assert "| `table/lake.logs.logs` | deferred |" in markdown
