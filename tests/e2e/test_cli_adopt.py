"""`reconcile adopt` end to end: `reconcile` subprocesses against the HTTPS simulator, and a
table in the embedded catalog; adoption marks resources as ours and changes nothing else."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField, TimestamptzType

from reconciler.adoption import make_adoption_plan
from reconciler.daemon.lock import cycle_lock
from reconciler.diff.adopt import plan_adoption
from reconciler.engine import RunOptions, apply_plan, load
from reconciler.model.containers import OWNER_TAG
from reconciler.model.desired import Desired
from reconciler.model.tables import MANAGED_BY_PROPERTY, MANAGED_BY_VALUE
from reconciler.plan.change import Action, Change
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.proxmox.observe import observe_containers
from reconciler.report.outcome import Status
from reconciler.sources.config import load_settings
from reconciler.testing.pvesim import PveSim
from reconciler.testing.pvesim.faults import Faults
from reconciler.wiring import build_deps
from tests.e2e.conftest import ROOT, Workspace, make_workspace
from tests.integration.proxmox.helpers import make_applier, make_client, make_spec

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
MINIO = 107


def _handmade(ws: Workspace, vmid: int = MINIO, tags: str = "prod;Team-A") -> dict[str, Any]:
    """A CT made by hand at a spec's vmid: user tags, no ownership tag, its own sizes."""
    api = ws.sim.api()
    api.nodes("pve").lxc.post(
        vmid=vmid,
        hostname="minio-old",
        memory=1024,
        cores=1,
        storage="local-lvm",
        ostemplate=TEMPLATE,
        tags=tags,
        description="made by hand",
    )
    return _config(ws, vmid)


def _config(ws: Workspace, vmid: int) -> dict[str, Any]:
    return dict(ws.sim.api().nodes("pve").lxc(vmid).config.get())


def _lines(plan: dict[str, Any], address: str) -> list[str]:
    return [c["action"] for c in plan["changes"] if c["address"] == address]


def _writes(ws: Workspace) -> list[Any]:
    return [r for r in ws.sim.requests() if r.method != "GET"]


def test_adopt_marks_only_the_tag_and_the_next_plan_shows_drift(workspace: Workspace) -> None:
    ws = workspace
    before = _handmade(ws)
    assert _lines(ws.plan_json(), "container/minio") == ["conflict"]

    ws.sim.clear_requests()
    done = ws.run("adopt", "container/minio", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "container/minio: update" in done.stdout and "adopt: mark CT 107" in done.stdout
    assert "Apply complete! 1 applied." in done.stdout
    writes = _writes(ws)
    assert [(w.method, w.path.rstrip("/")) for w in writes] == [
        ("PUT", f"/nodes/pve/lxc/{MINIO}/config")
    ]
    assert set(writes[0].params) == {"tags", "digest"}

    after = _config(ws, MINIO)
    assert after["tags"] == f"prod;Team-A;{OWNER_TAG}"  # the user's tags kept, as spelled
    unchanged = {k: v for k, v in before.items() if k not in ("tags", "digest")}
    assert {k: v for k, v in after.items() if k not in ("tags", "digest")} == unchanged

    plan = ws.plan_json()
    minio = [c for c in plan["changes"] if c["address"] == "container/minio"]
    assert "conflict" not in [c["action"] for c in minio] and "update" in [
        c["action"] for c in minio
    ]
    fields = {f["path"]: (f["before"], f["after"]) for c in minio for f in c["fields"]}
    assert fields["memory"] == (1024, 2048) and fields["hostname"] == ("minio-old", "minio")

    ws.sim.clear_requests()  # adopting again: already ours, nothing written
    again = ws.run("adopt", "container/minio", "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing to adopt." in again.stdout and "already carries" in again.stdout
    assert _writes(ws) == []


def test_a_vm_a_missing_ct_and_an_unknown_address_are_refused(
    tmp_path: Path, pvesim_factory: Callable[..., PveSim]
) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "guests": [
                    {"vmid": 108, "kind": "qemu", "config": {"name": "winvm"}, "status": "running"}
                ]
            }
        )
    )
    ws = make_workspace(tmp_path, pvesim_factory(seed_file=seed))
    _handmade(ws)

    ws.sim.clear_requests()
    vm = ws.run("adopt", "container/spark", "--yes")
    assert vm.returncode == 3, vm.stdout + vm.stderr  # refused lines remain
    assert "container/spark: refuse" in vm.stdout and "not a container" in vm.stdout
    missing = ws.run("adopt", "container/kafka", "--yes", "--output", "json")
    assert missing.returncode == 3, missing.stdout + missing.stderr
    assert json.loads(missing.stdout)["summary"]["exit_code"] == 3
    (line,) = json.loads(missing.stdout)["changes"]
    assert line["action"] == "refuse" and "CT 109 does not exist" in line["reason"]
    assert _writes(ws) == []

    ws.sim.clear_requests()
    unknown = ws.run("adopt", "container/nope", "container/minio", "--yes")
    assert unknown.returncode == 1
    assert "no spec names container/nope" in unknown.stderr
    assert ws.sim.requests() == []  # refused before observing anything
    assert OWNER_TAG not in str(_config(ws, MINIO).get("tags"))

    # mixed: the CT is adopted, the missing one is not, so the exit code says "not all"
    mixed = ws.run("adopt", "container/minio", "container/kafka", "--yes")
    assert mixed.returncode == 3, mixed.stdout + mixed.stderr
    assert "1 applied, 1 refused (not applied)." in mixed.stdout
    assert "container/minio (update): applied" in mixed.stdout
    assert OWNER_TAG in str(_config(ws, MINIO)["tags"])


def test_without_yes_or_a_terminal_nothing_is_adopted(workspace: Workspace) -> None:
    ws = workspace
    _handmade(ws)
    ws.sim.clear_requests()
    done = ws.run("adopt", "container/minio")
    assert done.returncode == 1
    assert "confirmation" in done.stderr and _writes(ws) == []
    dry = ws.run("--dry-run", "adopt", "container/minio")
    assert dry.returncode == 2 and "adopt: mark CT 107" in dry.stdout and _writes(ws) == []
    with cycle_lock(ws.root / "state", wait=False):  # a daemon cycle or an apply is running
        busy = ws.run("adopt", "container/minio", "--yes")
    assert busy.returncode == 1 and "another reconcile is running" in busy.stderr
    assert _writes(ws) == []


def test_a_ct_changed_since_the_adoption_plan_is_not_marked(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace
    _handmade(ws)
    monkeypatch.setenv("PVE_TOKEN_SECRET", ws.sim.token_secret)
    settings = load_settings(ws.config)
    desired, error = load(settings.specs)
    assert desired is not None, error
    deps = build_deps(settings)
    planned = make_adoption_plan(desired, ("container/minio",), deps)
    assert [c.action.value for c in planned.plan.changes] == ["update"]
    ws.sim.api().nodes("pve").lxc(MINIO).config.put(tags="prod;changed")
    report = apply_plan(settings, planned, RunOptions(apply=True), deps)
    assert [o.status for o in report.outcomes] == [Status.STALE]
    assert _config(ws, MINIO)["tags"] == "prod;changed"


def test_adopting_a_table_keeps_its_schema_and_the_next_plan_evolves_it(
    tmp_path: Path, pvesim: PveSim
) -> None:
    ws = make_workspace(tmp_path, pvesim)
    shutil.copytree(ROOT / "specs" / "tables", ws.specs / "tables")
    shutil.copytree(ROOT / "specs" / "policies", ws.specs / "policies")
    settings = load_settings(ws.config)
    catalog = Catalogs(
        {n: dict(p) for n, p in settings.catalogs}, state_dir=settings.state_dir
    ).get("lake")
    catalog.create_namespace_if_not_exists(("sales",))
    schema = Schema(
        NestedField(1, "order_id", LongType(), required=True, doc="Order key"),
        NestedField(2, "ts", TimestamptzType(), required=True),
    )
    catalog.create_table(("sales", "orders"), schema=schema, properties={"owner": "team-a"})
    assert _lines(ws.plan_json(), "table/lake.sales.orders") == ["conflict"]

    done = ws.run("adopt", "table/lake.sales.orders", "--yes", "--output", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert [(o["address"], o["status"]) for o in doc["outcomes"]] == [
        ("table/lake.sales.orders", "applied")
    ]
    table = catalog.load_table(("sales", "orders"))
    assert table.properties[MANAGED_BY_PROPERTY] == MANAGED_BY_VALUE
    assert table.properties["owner"] == "team-a"
    assert table.schema() == schema and len(table.metadata.schemas) == 1

    (line,) = [c for c in ws.plan_json()["changes"] if c["address"] == "table/lake.sales.orders"]
    assert line["action"] == "update", line
    assert any(f["path"].startswith("schema.") for f in line["fields"]), line


def test_adoption_through_injected_put_failures_still_keeps_every_tag(
    workspace: Workspace,
) -> None:
    ws = workspace
    _handmade(ws, tags="prod;Team-A;backup-daily")
    spec = make_spec()
    client = make_client(ws.sim)
    line = _one_line(
        plan_adoption(
            (spec.address,), Desired(containers=(spec,)), observe_containers(client, [spec]), None
        )
    )
    ws.sim.set_faults(Faults(error_rate=0.6, status=500, seed=1, methods=("PUT",)))
    ws.sim.clear_requests()
    outcome = make_applier(client, spec, retries=10).apply(line)
    ws.sim.set_faults(Faults())
    assert outcome.status is Status.APPLIED and "marked CT 107" in outcome.message
    assert 500 in [r.status for r in ws.sim.requests()]  # faults were really injected
    assert _config(ws, MINIO)["tags"] == f"prod;Team-A;backup-daily;{OWNER_TAG}"


def _one_line(changes: tuple[Change, ...]) -> Change:
    (line,) = changes
    assert line.action is Action.UPDATE
    return line
