"""An unreadable catalog is an error, never a silent "No changes."."""

from __future__ import annotations

import shutil
from pathlib import Path

from reconciler.testing.pvesim import PveSim
from tests.e2e.conftest import ROOT, make_workspace


def test_plan_fails_clearly_when_a_used_catalog_cannot_be_read(
    tmp_path: Path, pvesim: PveSim
) -> None:
    ws = make_workspace(
        tmp_path,
        pvesim,
        extra=f"""catalogs:
  lake:
    type: sql
    uri: postgresql+psycopg2://iceberg@127.0.0.1:1/iceberg
    warehouse: file://{tmp_path}/warehouse
""",
    )
    for kind in ("tables", "policies"):
        shutil.copytree(ROOT / "specs" / kind, ws.specs / kind)
    done = ws.run("plan")
    assert done.returncode == 1, done.stdout
    assert "catalog lake" in done.stderr and "No changes" not in done.stdout
