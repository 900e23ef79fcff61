"""The daemon keeps parsed table metadata between cycles: a later cycle over unchanged
tables reads no metadata file (real git origin, real SQLite catalog, simulated PVE)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from daemon_gitrepo import Origin
from daemon_harness import write_config

from reconciler.daemon.loop import Daemon
from reconciler.report.conditions import CycleResult
from reconciler.sources.config import load_settings

TABLE = """apiVersion: reconciler/v1
kind: Table
metadata: {{name: t{n}}}
spec:
  catalog: lake
  namespace: kept{n}
  name: t{n}
  schema:
    - {{name: id, type: long, required: true}}
"""


def test_a_later_cycle_reads_no_metadata_of_unchanged_tables(
    origin: Origin, pvesim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    origin.commit({f"specs/t{n}.yaml": TABLE.format(n=n) for n in range(3)}, "three tables")
    settings = load_settings(write_config(tmp_path, origin.url, pvesim))
    monkeypatch.setenv("PVE_TOKEN_SECRET", pvesim.token_secret)
    daemon = Daemon(settings)
    assert daemon.cycle("start")[0] is CycleResult.SUCCESS  # creates the tables
    assert daemon.cycle("drift")[0] is CycleResult.SUCCESS  # reads them once
    cache = daemon.metadata_cache
    assert cache is not None
    first = cache.stats()
    assert first.misses == 3
    assert daemon.cycle("drift")[0] is CycleResult.SUCCESS
    second = cache.stats()
    assert second.misses == first.misses  # no metadata file read again
    assert second.hits - first.hits >= 3  # every table came from the cache
