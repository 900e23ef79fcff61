"""Tables as code on `type: hive` through the `reconcile` CLI (real subprocesses, real HMS):
create, evolve, refuse a column drop, drop the table only with both opt-ins."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.testing.pvesim import PveSim
from tests.e2e.conftest import make_workspace

EVENTS = """\
apiVersion: reconciler/v1
kind: Table
metadata: {name: events}
spec:
  catalog: lake
  namespace: clihive
  name: events
  schema:
    - {name: id, type: long, required: true}
    - {name: body, type: string}
"""


class Cli:
    """A workspace (simulated PVE, no container specs) whose `lake` is the metastore."""

    def __init__(self, root: Path, uri: str, sim: PveSim) -> None:
        extra = f"catalogs:\n  lake:\n    type: hive\n    uri: {uri}\n"
        self.ws = make_workspace(root, sim, extra=extra)
        shutil.rmtree(self.ws.specs / "containers")
        self.spec = self.ws.specs / "tables" / "events.yaml"
        self.spec.parent.mkdir(parents=True)
        self.catalogs = Catalogs({"lake": {"type": "hive", "uri": uri}})

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.ws.run(*args, timeout=180)

    def actions(self) -> list[tuple[str, str]]:
        return [(c["address"], c["action"]) for c in self.ws.plan_json()["changes"]]


@pytest.fixture
def cli(tmp_path: Path, hms_uri: str, pvesim: PveSim) -> Cli:
    cli = Cli(tmp_path, hms_uri, pvesim)
    hive = cli.catalogs.get("lake")
    if hive.table_exists("clihive.events"):
        hive.drop_table("clihive.events")
    return cli


def test_create_evolve_refuse_and_drop_through_the_cli(cli: Cli) -> None:
    cli.spec.write_text(EVENTS)
    assert cli.actions() == [("table/lake.clihive.events", "create")]
    done = cli.run("apply", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert cli.run("plan").returncode == 0

    cli.spec.write_text(
        EVENTS.replace(
            "{name: body, type: string}", "{name: text, type: string, renamedFrom: body}"
        )
        + "    - {name: source, type: string}\n"
        + '  partitionBy:\n    - {source: id, transform: "bucket[4]"}\n'
        + "  properties: {owner: data-team}\n"
    )
    assert cli.actions() == [("table/lake.clihive.events", "update")]
    done = cli.run("apply", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    table = cli.catalogs.get("lake").load_table("clihive.events")
    assert [f.name for f in table.schema().fields] == ["id", "text", "source"]
    assert [str(f.transform) for f in table.spec().fields] == ["bucket[4]"]
    assert table.metadata.properties["owner"] == "data-team"
    assert cli.run("plan").returncode == 0

    cli.spec.write_text(EVENTS.replace("    - {name: body, type: string}\n", ""))
    assert cli.actions() == [("table/lake.clihive.events", "refuse")]
    refused = cli.run("apply", "--yes")
    assert refused.returncode == 3 and "1 refused" in refused.stdout, refused.stdout
    assert "text" in cli.catalogs.get("lake").load_table("clihive.events").schema().column_names

    cli.spec.write_text(EVENTS + "  state: absent\n  allowDestructive: true\n")
    assert cli.actions() == [("table/lake.clihive.events", "refuse")]  # no --allow-destructive
    assert cli.catalogs.get("lake").table_exists("clihive.events")
    done = cli.run("apply", "--yes", "--allow-destructive")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not cli.catalogs.get("lake").table_exists("clihive.events")
