"""A daemon cycle with one catalog unreadable (a corrupt SQLite file): the container is still
applied, the cycle is recorded as failed with a named reason, and `status` / `drift` say why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from daemon_gitrepo import Origin
from daemon_harness import write_config

from reconciler.daemon.loop import Daemon
from reconciler.daemon.status import drift, status
from reconciler.sources.config import load_settings
from tests.e2e.conftest import ROOT

TABLE = """apiVersion: reconciler/v1
kind: Table
metadata: {name: events}
spec:
  catalog: lake
  namespace: raw
  name: events
  schema:
    - {name: id, type: long, required: true}
"""


def test_a_cycle_applies_containers_while_a_catalog_is_down(
    origin: Origin, pvesim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    origin.commit(
        {
            "specs/hive.yaml": (ROOT / "specs" / "containers" / "hive.yaml").read_text(),
            "specs/minio.yaml": (ROOT / "specs" / "containers" / "minio.yaml").read_text(),
            "specs/lxc.yaml": (ROOT / "specs" / "defaults" / "lxc.yaml").read_text(),
            "specs/events.yaml": TABLE,
        },
        "hive and one table",
    )
    corrupt = tmp_path / "lake.db"
    corrupt.write_bytes(b"this is not a SQLite database, it is a broken disk block" * 100)
    config = write_config(tmp_path, origin.url, pvesim)
    config.write_text(
        config.read_text()
        + f"catalogs:\n  lake:\n    type: sql\n    uri: sqlite:///{corrupt}\n"
        + f"    warehouse: file://{tmp_path}/warehouse\n"
    )
    settings = load_settings(config)
    monkeypatch.setenv("PVE_TOKEN_SECRET", pvesim.token_secret)
    daemon = Daemon(settings)

    result, _ = daemon.cycle("start")

    assert result == "failed"
    last = daemon.store.last()
    assert last is not None and last.error is not None
    assert last.error.startswith("observe failed: catalog lake: "), last.error
    applied = {(a.address, a.action, a.status) for a in last.actions}
    assert ("container/hive", "create", "applied") in applied, last.actions
    names = {str(c["name"]) for c in pvesim.api().nodes("pve").lxc.get()}
    assert "hive" in names
    doc = status(settings)
    assert doc["last_result"] == "failed" and "catalog lake" in str(doc["error"])
    assert doc["failing_maintenance"] == []
    entries = json.loads(drift(settings, "json"))["drift"]
    assert [(e["address"], e["action"]) for e in entries] == [("table/lake.raw.events", "unknown")]
    assert "catalog lake could not be read" in entries[0]["reason"]
