"""A tree of Table specs alone needs no Proxmox: plan and apply go on without a PVE secret,
and only `--prune` (which must read Proxmox for orphans) fails for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, without_pve, write_tables_only


@pytest.fixture
def tables_only(tmp_path: Path) -> Path:
    write_tables_only(tmp_path)
    return tmp_path


def _reconcile(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler.cli", "--config", str(root / "reconciler.yaml"), *args],
        env={**without_pve(os.environ), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_plan_and_apply_without_a_proxmox_secret(tables_only: Path) -> None:
    planned = _reconcile(tables_only, "plan")
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert "+ table/lake.raw.events" in planned.stdout
    assert "observe.containers_skipped" in planned.stderr  # said, not silent
    assert "PVE_TOKEN_SECRET" in planned.stderr and "error:" not in planned.stderr
    applied = _reconcile(tables_only, "apply", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    again = _reconcile(tables_only, "plan")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout


def test_prune_still_needs_proxmox(tables_only: Path) -> None:
    pruned = _reconcile(tables_only, "apply", "--prune", "--yes")
    assert pruned.returncode == 1, pruned.stdout + pruned.stderr
    assert "error: observe failed: proxmox: environment variable PVE_TOKEN_SECRET" in (
        pruned.stderr
    )
