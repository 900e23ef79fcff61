"""Saved plans end to end: `plan --out FILE`, `apply FILE` (refused when stale), `show FILE`,
as `reconcile` subprocesses against the HTTPS simulator."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Workspace

STALE = "error: saved plan is stale: "


def _state(ws: Workspace) -> list[dict[str, Any]]:
    """Every CT with its config: what a refused apply must leave untouched."""
    api = ws.sim.api().nodes("pve").lxc
    return [
        {"name": ct["name"], "status": ct["status"], "config": dict(api(ct["vmid"]).config.get())}
        for ct in sorted(api.get(), key=lambda c: int(c["vmid"]))
    ]


def _save(ws: Workspace, *args: str) -> Path:
    out = ws.root / "tfplan.json"
    done = ws.run("plan", "--out", str(out), *args)
    assert done.returncode in (0, 2), done.stderr
    assert f"Saved the plan to: {out}" in done.stdout
    return out


def _converge(ws: Workspace) -> None:
    done = ws.run("apply", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_saved_plan_applies_exactly_once(workspace: Workspace) -> None:
    ws = workspace
    out = _save(ws)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    doc = json.loads(out.read_text())
    assert doc["format_version"] == "2"
    assert doc["source"]["revision"] is None  # a local specs dir: the digest identifies it
    assert doc["source"]["spec_digest"].startswith("sha256:")
    assert doc["created_at"].endswith("Z") and doc["reconciler_version"]
    assert len(doc["changes"]) == 7
    assert {c["action"] for c in doc["changes"]} == {"create"}
    minio = next(c for c in doc["changes"] if c["address"] == "container/minio")
    assert minio["preconditions"] == {"vmid": 107, "node": "pve"}
    assert ws.sim.api().nodes("pve").lxc.get() == []  # plan --out wrote nothing

    done = ws.run("apply", str(out), "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    names = {c["name"] for c in ws.sim.api().nodes("pve").lxc.get()}
    assert names == {c["address"].removeprefix("container/") for c in doc["changes"]}
    assert ws.plan_json()["changes"] == []

    before = _state(ws)
    again = ws.run("apply", str(out), "--yes")
    assert again.returncode == 1
    assert STALE in again.stderr and "is no longer planned" in again.stderr, again.stderr
    assert _state(ws) == before


def test_a_hand_edit_after_plan_out_refuses_the_whole_plan_before_any_write(
    workspace: Workspace,
) -> None:
    ws = workspace
    _converge(ws)
    lxc = ws.sim.api().nodes("pve").lxc
    lxc(107).config.put(memory=1024)  # drift the saved plan repairs
    lxc(108).config.put(cores=1)
    out = _save(ws)
    saved = json.loads(out.read_text())["changes"]
    assert [(c["address"], c["action"]) for c in saved] == [
        ("container/minio", "update"),
        ("container/spark", "update"),
    ]
    lxc(107).config.put(memory=1536)  # a hand edit after the plan was saved
    before = _state(ws)
    ws.sim.clear_requests()
    done = ws.run("apply", str(out), "--yes")
    assert done.returncode == 1
    assert done.stderr.startswith(STALE), done.stderr
    assert "container/minio (update): fields differ" in done.stderr
    assert "memory 1024 -> 2048" in done.stderr and "memory 1536 -> 2048" in done.stderr
    assert [r for r in ws.sim.requests() if r.method != "GET"] == []  # not a single write
    assert _state(ws) == before  # spark's line, still valid, was not applied either
    assert dict(lxc(108).config.get())["cores"] == 1

    fresh = _save(ws)  # reviewed again: now the saved plan runs, and only its lines
    ws.sim.clear_requests()
    done = ws.run("apply", str(fresh), "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    writes = [r for r in ws.sim.requests() if r.method != "GET"]
    assert all("digest" in r.params for r in writes)  # each write guarded by the config read
    assert sorted(
        (r.method, r.path, {k: v for k, v in r.params.items() if k != "digest"}) for r in writes
    ) == [
        ("PUT", "/nodes/pve/lxc/107/config", {"memory": "2048"}),
        ("PUT", "/nodes/pve/lxc/108/config", {"cores": "2"}),
    ]
    assert ws.plan_json()["changes"] == []


def test_a_spec_edit_after_plan_out_makes_the_plan_stale(workspace: Workspace) -> None:
    ws = workspace
    out = _save(ws)
    ws.edit("minio", "memory: 2GiB", "memory: 3GiB")
    done = ws.run("apply", str(out), "--yes")
    assert done.returncode == 1
    assert done.stderr.startswith(STALE + "the spec tree changed"), done.stderr
    assert ws.sim.api().nodes("pve").lxc.get() == []


def test_a_version_1_document_is_refused_naming_its_version(workspace: Workspace) -> None:
    ws = workspace
    plan_doc = ws.run("plan", "--output", "json")
    assert json.loads(plan_doc.stdout)["format_version"] == "1"
    v1 = ws.root / "v1.json"
    v1.write_text(plan_doc.stdout)
    done = ws.run("apply", str(v1), "--yes")
    assert done.returncode == 1
    assert STALE in done.stderr and "format version '1'" in done.stderr, done.stderr
    assert ws.sim.api().nodes("pve").lxc.get() == []
    shown = ws.run("show", str(v1))
    assert shown.returncode == 1 and "format version '1'" in shown.stderr
    broken = ws.root / "broken.json"
    broken.write_text('{"format_version": "2", "changes": []}')
    refused = ws.run("apply", str(broken), "--yes")
    assert refused.returncode == 1
    assert "is not a valid saved plan: field 'source' is missing" in refused.stderr


def test_apply_file_takes_its_options_from_the_saved_plan(workspace: Workspace) -> None:
    ws = workspace
    out = _save(ws, "--target", "minio")
    assert json.loads(out.read_text())["options"]["targets"] == ["minio"]
    refused = ws.run("apply", str(out), "--yes", "--target", "hive")
    assert refused.returncode == 1 and "drop --target" in refused.stderr
    done = ws.run("apply", str(out), "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [c["name"] for c in ws.sim.api().nodes("pve").lxc.get()] == ["minio"]


def test_show_renders_a_saved_plan_as_markdown_text_and_json(workspace: Workspace) -> None:
    ws = workspace
    out = _save(ws)
    md = ws.run("show", str(out), "--output", "markdown")
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# Plan\n")
    assert "**Plan: 7 to create, 0 to update, 0 to resize.**" in md.stdout
    assert "| + | `container/minio` | create |" in md.stdout
    assert "Spec tree digest `sha256:" in md.stdout
    assert (
        md.stdout.split("\n\n", 2)[2]
        == ws.run("plan", "--output", "markdown").stdout.split("\n\n", 1)[1]
    )
    text = ws.run("show", str(out))
    assert text.returncode == 0 and "+ container/minio: create" in text.stdout
    shown = ws.run("show", str(out), "--output", "json")
    assert json.loads(shown.stdout) == json.loads(out.read_text())


def test_apply_file_sends_exactly_the_saved_operations(workspace: Workspace) -> None:
    """The simulator's write log equals the saved plan's operations, one call each."""
    ws = workspace
    _converge(ws)
    lxc = ws.sim.api().nodes("pve").lxc
    lxc(107).config.put(memory=1024, delete="cores")
    lxc(108).status.stop.post()
    saved = json.loads(_save(ws).read_text())["changes"]
    expected = []
    for line in saved:
        vmid, node = line["preconditions"]["vmid"], line["preconditions"]["node"]
        for op in line["operations"]:
            base = f"/nodes/{node}/lxc/{vmid}"
            if op["op"] == "set_config":
                params = {k: str(v) for k, v in op["values"].items()}
                if op["delete"]:
                    params["delete"] = ",".join(op["delete"])
                expected.append(("PUT", f"{base}/config", params))
            elif op["op"] == "power":
                assert op["action"] == "start"
                expected.append(("POST", f"{base}/status/start", {}))
            else:
                raise AssertionError(f"unexpected operation {op}")
    assert ("PUT", "/nodes/pve/lxc/107/config", {"cores": "2", "memory": "2048"}) in expected
    assert ("POST", "/nodes/pve/lxc/108/status/start", {}) in expected
    ws.sim.clear_requests()
    done = ws.run("apply", str(ws.root / "tfplan.json"), "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    writes = [r for r in ws.sim.requests() if r.method != "GET"]
    sent = [
        (r.method, r.path, {k: str(v) for k, v in r.params.items() if k != "digest"})
        for r in writes
    ]
    assert sorted(sent, key=repr) == sorted(expected, key=repr)
    assert ws.plan_json()["changes"] == []
