"""After a daemon run, the CLI's read commands keep their JSON contracts (real subprocesses)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon_gitrepo import Origin
from daemon_harness import DaemonProcess, container, ct_config, write_config

EVENTS = """apiVersion: reconciler/v1
kind: Table
metadata: {name: events}
spec:
  catalog: lake
  namespace: ops
  name: events
  schema:
    - {name: id, type: long, required: true}
    - {name: ts, type: timestamptz}
"""


def _cli(daemon: DaemonProcess, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler.cli", "--config", str(daemon.config), *args],
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=daemon.config.parent,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _table_columns(state: Path) -> list[str]:
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog(
        "lake", uri=f"sqlite:///{state}/catalog.db", warehouse=f"file://{state}/warehouse"
    )
    return [f.name for f in catalog.load_table("ops.events").schema().fields]


def test_status_drift_and_history_after_the_daemon_converged_containers_and_tables(
    origin: Origin, pvesim: Any, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    head = origin.commit(
        {"specs/w.yaml": container("w", 254, "1GiB", drift="warn"), "specs/events.yaml": EVENTS},
        "container and table",
    )
    daemon = DaemonProcess(write_config(tmp_path, origin.url, pvesim, poll="1h"), pvesim).start()
    daemons.append(daemon)
    daemon.until(
        "converged",
        lambda: daemon.status()["revision"] == head and daemon.status()["last_result"] == "success",
    )
    assert _table_columns(tmp_path / "state") == ["id", "ts"]  # the default SQLite catalog
    seen = len(daemon.history())
    daemon.signal(signal.SIGHUP)
    daemon.until("SIGHUP cycle", lambda: len(daemon.history()) > seen)
    pvesim.api().nodes("pve").lxc(254).config.put(memory=2048)  # drift after the last cycle
    assert daemon.stop() == 0
    assert int((ct_config(pvesim, 254) or {}).get("memory", 0)) == 2048

    status = json.loads(_cli(daemon, "status", "--output", "json"))
    assert status["revision"] == head and status["last_result"] == "success"
    assert status["error"] is None
    assert datetime.fromisoformat(status["last_cycle_at"]).tzinfo is not None

    doc = json.loads(_cli(daemon, "drift", "--format", "json"))
    (entry,) = doc["drift"]  # the table is in sync; only the container drifted
    assert entry["address"] == "container/w"
    assert [f["path"] for f in entry["fields"]] == ["memory"]
    assert entry["since"] and entry["commit"] == head

    markdown = _cli(daemon, "drift", "--format", "markdown")
    assert "container/w" in markdown and "|" in markdown and "memory" in markdown

    cycles = json.loads(_cli(daemon, "history", "-n", "2", "--output", "json"))
    text = _cli(daemon, "history", "-n", "2")  # aligned text for people
    assert "signal" in text and "start" in text and "None" not in text
    assert [c["trigger"] for c in cycles] == ["signal", "start"]
    assert all(c["result"] == "success" and c["revision"] == head for c in cycles)
    assert cycles[1]["summary"] == {"create": 2}
