"""Start-up: `--help`, `validate` and `status` load no SDK they do not use (checked by the
modules a real `reconcile` process holds when the command has finished, not by timing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import ROOT, Workspace, without_pve, write_tables_only

# Runs one command through the entry point, then records every module the process loaded.
DRIVER = """
import json, os, sys
from reconciler.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
with open(os.environ["MODULES_OUT"], "w") as out:
    json.dump({"exit": code, "modules": sorted(sys.modules)}, out)
"""
SDKS = ("pyiceberg", "pyarrow", "pyspark", "py4j", "proxmoxer", "requests", "sqlalchemy")
# --help is argparse and the parser: no spec parsing, schema checking or logging set-up either.
NOT_FOR_HELP = (*SDKS, "jsonschema", "yaml", "structlog", "croniter", "importlib.metadata")


def _loaded(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, set[str], str]:
    """(exit code, top-level and dotted module names loaded, stdout) of `reconcile ARGS`."""
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, *args],
        env={**env, "MODULES_OUT": str(out), "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.is_file(), done.stderr
    record = json.loads(out.read_text())
    return record["exit"], set(record["modules"]), done.stdout + done.stderr


def _roots(modules: set[str]) -> set[str]:
    return modules | {name.partition(".")[0] for name in modules}


def test_help_loads_only_the_parser(tmp_path: Path) -> None:
    code, modules, output = _loaded(tmp_path, dict(os.environ), "--help")
    assert code == 0, output
    assert "validate" in output and "plan" in output
    assert "reconciler.cli.parser" in modules  # the record is of the command that ran
    assert sorted(_roots(modules) & set(NOT_FOR_HELP)) == []
    assert sorted(m for m in modules if m.startswith("reconciler.")) == [
        "reconciler.cli",
        "reconciler.cli.parser",
    ]


def test_version_reads_the_metadata_only_when_asked(tmp_path: Path) -> None:
    code, modules, output = _loaded(tmp_path, dict(os.environ), "--version")
    assert code == 0, output
    assert output.startswith("reconcile ")
    assert sorted(_roots(modules) & set(SDKS)) == []


def test_validate_of_the_example_lake_loads_no_sdk(workspace: Workspace, tmp_path: Path) -> None:
    # The whole example tree (containers, tables, policies), so Table specs are parsed too.
    args = ("--config", str(workspace.config), "validate", str(ROOT / "specs"))
    code, modules, output = _loaded(tmp_path, workspace.env(), *args)
    assert code == 0, output
    assert "reconciler.sources.validate" in modules and "jsonschema" in modules
    assert sorted(_roots(modules) & set(SDKS)) == []


def test_status_loads_no_sdk(workspace: Workspace, tmp_path: Path) -> None:
    code, modules, output = _loaded(
        tmp_path, workspace.env(), "--config", str(workspace.config), "status"
    )
    assert code == 0, output
    assert "reconciler.cli.state" in modules
    assert sorted(_roots(modules) & set(SDKS)) == []


# What only containers need (the Proxmox client) or only a Hive catalog (thrift).
NOT_FOR_SQL_TABLES = ("proxmoxer", "requests", "paramiko", "thrift", "hive_metastore")


def test_maintain_on_an_sql_catalog_loads_neither_proxmox_nor_hive(tmp_path: Path) -> None:
    # A tables-only tree on an SQLite catalog, no Proxmox secret: what cron's `maintain` runs.
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog

    from reconciler.model.tables import MANAGED_BY_PROPERTY, MANAGED_BY_VALUE

    props = write_tables_only(tmp_path)
    catalog = SqlCatalog("lake", **props)
    catalog.create_namespace("raw")
    schema = pa.schema([pa.field("id", pa.int64())])
    table = catalog.create_table(
        ("raw", "events"), schema, properties={MANAGED_BY_PROPERTY: MANAGED_BY_VALUE}
    )
    for n in range(3):  # three small files: compaction is due
        table.append(pa.table({"id": [n]}, schema))
    code, modules, output = _loaded(tmp_path, without_pve(os.environ), "maintain", "--dry-run")
    assert code == 2, output  # changes: the table's maintenance is planned
    assert "rewrite_data_files" in output
    assert "reconciler.providers.iceberg.observe_health" in modules
    assert sorted(_roots(modules) & set(NOT_FOR_SQL_TABLES)) == []
