"""The base install imports no extra: the base commands run with every extra's modules blocked.

CI's test venv holds every extra, so a top-level `import pyiceberg` on a base path would pass
every other test; here a `sitecustomize` on PYTHONPATH makes those imports fail in the
`reconcile` subprocesses, as they would after `pip install datalake-reconciler`.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, Workspace

# Top-level modules that only the extras install (iceberg, spark, daemon, dev).
EXTRA_MODULES = (
    "pyiceberg",
    "pyiceberg_core",
    "pyarrow",
    "sqlalchemy",
    "psycopg2",
    "thrift",
    "hive_metastore",
    "pyspark",
    "py4j",
    "git",
    "watchdog",
    "prometheus_client",
    "moto",
    "boto3",
    "botocore",
)

SITECUSTOMIZE = f'''"""Blocks the extras' modules, as a base install lacks them."""
import sys

BLOCKED = {set(EXTRA_MODULES)!r}


class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: an extra)", name=name)
        return None


sys.meta_path.insert(0, _Blocker())
'''


@pytest.fixture
def blocked_env(tmp_path: Path) -> dict[str, str]:
    """PYTHONPATH with the blocking sitecustomize first (the checkout stays importable)."""
    site = tmp_path / "blocker"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return {"PYTHONPATH": f"{site}:{ROOT}", "PYTHONNOUSERSITE": "1"}


def _run(env: dict[str, str], *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_blocker_blocks_every_extra_that_the_test_venv_holds(
    blocked_env: dict[str, str],
) -> None:
    # Without this the other tests could pass because the blocker never ran.
    for module in ("pyiceberg", "pyarrow", "pyspark", "git", "watchdog", "psycopg2", "moto"):
        done = _run(blocked_env, "-c", f"import {module}")
        assert done.returncode == 1, module
        assert "blocked: an extra" in done.stderr, done.stderr
    assert _run(blocked_env, "-c", "import yaml, jsonschema, proxmoxer, croniter").returncode == 0


def test_help_and_version_need_no_extra(blocked_env: dict[str, str]) -> None:
    done = _run(blocked_env, "-m", "reconciler.cli", "--help")
    assert done.returncode == 0, done.stderr
    assert "validate" in done.stdout and "plan" in done.stdout
    version = _run(blocked_env, "-m", "reconciler.cli", "--version")
    assert version.returncode == 0, version.stderr
    assert importlib.metadata.version("datalake-reconciler") in version.stdout


def test_validate_of_the_example_specs_needs_no_extra(blocked_env: dict[str, str]) -> None:
    # The full example tree: containers, tables and policies are all checked without pyiceberg.
    done = _run(blocked_env, "-m", "reconciler.cli", "validate", "specs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid" in done.stdout


def test_a_containers_only_plan_and_apply_need_no_extra(
    workspace: Workspace, blocked_env: dict[str, str]
) -> None:
    ws = workspace
    env = {**ws.env(), **blocked_env}
    first = _run(env, *ws.argv("plan")[1:], cwd=ws.root)
    assert first.returncode == 2, first.stdout + first.stderr
    assert "Plan: 7 to create" in first.stdout
    applied = _run(env, *ws.argv("apply", "--yes")[1:], cwd=ws.root)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert len(ws.sim.api().nodes("pve").lxc.get()) == 7
    again = _run(env, *ws.argv("plan")[1:], cwd=ws.root)
    assert again.returncode == 0, again.stdout + again.stderr
    for command in (("status",), ("history",)):
        done = _run(env, *ws.argv(*command)[1:], cwd=ws.root)
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"


def test_a_table_spec_without_the_iceberg_extra_names_the_extra(
    workspace: Workspace, blocked_env: dict[str, str]
) -> None:
    ws = workspace
    # No `catalogs` key: the embedded default catalog, which a base install cannot open.
    shutil.copytree(ROOT / "specs" / "policies", ws.specs / "policies")
    (ws.specs / "tables").mkdir()
    shutil.copy(ROOT / "specs" / "tables" / "raw.yaml", ws.specs / "tables")
    done = _run({**ws.env(), **blocked_env}, *ws.argv("plan")[1:], cwd=ws.root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "pip install 'datalake-reconciler[iceberg]'" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_the_daemon_without_its_extra_names_the_extra(
    workspace: Workspace, blocked_env: dict[str, str]
) -> None:
    done = _run(blocked_env, "-m", "reconciler.cli", "--config", str(workspace.config), "daemon")
    assert done.returncode == 1
    assert "pip install 'datalake-reconciler[daemon]'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
