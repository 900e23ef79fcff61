"""Crash safety and faults end to end: a SIGKILLed apply, injected API faults, a failing CT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.model.containers import CREATE_PENDING_TAG, OWNER_TAG
from reconciler.testing.pvesim import Faults, PveSim, RequestRecord
from tests.e2e.conftest import Workspace, make_workspace

SEED = {
    107: "minio",
    108: "spark",
    109: "kafka",
    115: "superset",
    116: "airflow",
    117: "hive",
    118: "gitea",
}
# minio's dependents, transitively (hive -> minio, spark -> hive, superset/airflow -> spark)
MINIO_DEPENDENTS = {"hive", "spark", "superset", "airflow"}


def _lxc(sim: PveSim) -> dict[int, dict[str, object]]:
    return {int(c["vmid"]): dict(c) for c in sim.api().nodes("pve").lxc.get()}


def _creates(records: list[RequestRecord]) -> Counter[int]:
    """POST /nodes/pve/lxc per vmid that PVE accepted (a faulted POST created nothing)."""
    return Counter(
        int(r.params["vmid"])
        for r in records
        if r.method == "POST" and r.path.rstrip("/") == "/nodes/pve/lxc" and r.status == 200
    )


def _wait_for(what: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def _apply_until_converged(ws: Workspace, attempts: int, *args: str) -> list[int]:
    """Run `apply --yes` until one exits 0 with nothing left to do; returns the exit codes."""
    codes: list[int] = []
    for _ in range(attempts):
        done = ws.run("apply", "--yes", *args)
        codes.append(done.returncode)
        assert "Traceback" not in done.stderr, done.stderr
        if done.returncode == 0 and (
            "No changes." in done.stdout or "Apply complete!" not in done.stdout
        ):
            break
    return codes


def _clean_plan(ws: Workspace) -> dict[str, Any]:
    ws.sim.set_faults(Faults())
    return ws.plan_json()


def test_a_sigkilled_apply_is_adopted_not_duplicated(
    tmp_path: Path, pvesim_factory: Callable[..., PveSim]
) -> None:
    # slow creates: the kill lands mid-create, and the plan after it (which imports pyiceberg
    # for the embedded catalog: seconds on a loaded host) still sees the create running
    sim = pvesim_factory(task_seconds=15.0)
    ws = make_workspace(tmp_path, sim)
    proc = subprocess.Popen(
        ws.argv("apply", "--yes"),
        env=ws.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: bool(_creates(sim.requests())), 60, "no create POST was sent")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert sim.core is not None
    sim.core.task_seconds = 0.3  # later tasks fast; the killed create keeps its own end time
    killed = set(_creates(sim.requests()))
    assert killed and killed <= set(_lxc(sim))

    # PVE writes a CT's tags only when its create ends: until then the CT is deferred,
    # not reported as someone else's
    plan = ws.plan_json()
    still_creating = {v for v, c in _lxc(sim).items() if c.get("lock") == "create"}
    assert still_creating == killed, "the plan came too late to see the running create"
    lines = {c["address"]: c["action"] for c in plan["changes"]}
    for vmid in killed:
        assert lines[f"container/{SEED[vmid]}"] == "deferred", plan["changes"]
    assert "conflict" not in lines.values()

    # the killed create ends on its own (PVE's task outlives the client), then applies adopt it
    _wait_for(
        lambda: not any(c.get("lock") == "create" for c in _lxc(sim).values()),
        60,
        "the killed create never ended",
    )
    codes = _apply_until_converged(ws, 3)
    assert codes[-1] == 0, codes
    text = ws.run("plan")
    assert text.returncode == 0 and text.stdout.startswith("No changes."), text.stdout
    assert ws.plan_json()["changes"] == []
    cts = _lxc(sim)
    assert {v: c["name"] for v, c in cts.items()} == SEED
    assert all(c["status"] == "running" for c in cts.values())
    # exactly one accepted create per vmid: the killed ones were adopted, not re-created
    assert _creates(sim.requests()) == Counter(dict.fromkeys(SEED, 1))
    for vmid in SEED:
        tags = str(sim.api().nodes("pve").lxc(vmid).config.get()["tags"]).split(";")
        assert OWNER_TAG in tags and CREATE_PENDING_TAG not in tags, (vmid, tags)


def _resizes(records: list[RequestRecord]) -> list[RequestRecord]:
    return [r for r in records if r.method == "PUT" and r.path.endswith("/resize")]


def test_injected_faults_converge_and_refused_lines_never_execute(workspace: Workspace) -> None:
    ws = workspace
    # every method fails sometimes (reads too), and config locks time out now and then
    ws.sim.set_faults(Faults(error_rate=0.2, status=596, lock_timeout_rate=0.05, seed=7))
    codes = _apply_until_converged(ws, 6)
    assert codes[-1] == 0, codes
    failed = [r for r in ws.sim.requests() if r.status >= 500]
    assert any(r.method == "GET" for r in failed) and any(r.method != "GET" for r in failed)
    assert _clean_plan(ws)["changes"] == []
    assert {v: c["name"] for v, c in _lxc(ws.sim).items()} == SEED
    assert _creates(ws.sim.requests()) == Counter(dict.fromkeys(SEED, 1))

    # one real change per CT next to a refused one: the shrink and the template change stay refused
    ws.edit("hive", "size: 10GiB", "size: 8GiB")
    ws.edit("hive", "memory: ", "memory: 3GiB\n  # was: ")
    ws.edit("kafka", "debian-12-standard_12.7-1_amd64", "ubuntu-24.04-standard_24.04-2_amd64")
    ws.edit("kafka", "cores: ", "cores: 3\n  # was: ")
    ws.sim.clear_requests()
    ws.sim.set_faults(Faults(error_rate=0.2, status=500, lock_timeout_rate=0.05, seed=11))
    for _ in range(6):
        done = ws.run("apply", "--yes")
        assert "Traceback" not in done.stderr, done.stderr
        if done.returncode == 3:  # all allowed lines applied; the refused ones remain
            break
    assert done.returncode == 3, done.stdout + done.stderr
    plan = _clean_plan(ws)
    assert {(c["address"], c["action"]) for c in plan["changes"]} == {
        ("container/hive", "refuse"),
        ("container/kafka", "refuse"),
    }
    hive = ws.sim.api().nodes("pve").lxc(117).config.get()
    kafka = ws.sim.api().nodes("pve").lxc(109).config.get()
    assert hive["memory"] == 3072 and "size=10G" in str(hive["rootfs"])
    assert kafka["cores"] == 3 and kafka["ostype"] == "debian"
    records = ws.sim.requests()
    assert _resizes(records) == []
    kafka_writes = [r for r in records if r.method != "GET" and "/lxc/109" in r.path]
    assert kafka_writes and all(
        "ostype" not in r.params and "ostemplate" not in r.params for r in kafka_writes
    )
    assert not any(
        r.method in ("POST", "DELETE")
        and r.path.rstrip("/") in ("/nodes/pve/lxc", "/nodes/pve/lxc/109", "/nodes/pve/lxc/117")
        for r in records
    )


def test_a_failed_create_skips_its_dependents_then_a_clean_run_converges(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.edit("minio", "rootfs: {storage: local-lvm", "rootfs: {storage: nosuchstore")
    done = ws.run("apply", "--yes")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "container/minio (create): applying..." in lines, lines
    assert any(
        line.startswith("container/minio (create): failed") and "nosuchstore" in line
        for line in lines
    ), lines
    for name in ("gitea", "kafka"):
        assert any(line.startswith(f"container/{name} (create): applied") for line in lines), lines
    for name in MINIO_DEPENDENTS:  # never started
        assert f"container/{name} (create): applying..." not in lines, lines
    assert "1 failed" in done.stdout and f"{len(MINIO_DEPENDENTS)} skipped" in done.stdout
    assert set(_lxc(ws.sim)) == {109, 118}

    as_json = ws.run("apply", "--yes", "--output", "json")
    assert as_json.returncode == 1
    doc = json.loads(as_json.stdout)  # one document: the plan and the outcomes
    skipped = {o["address"]: o["message"] for o in doc["outcomes"] if o["status"] == "skipped"}
    assert set(skipped) == {f"container/{n}" for n in MINIO_DEPENDENTS}
    assert "container/minio" in skipped["container/hive"]

    ws.edit("minio", "rootfs: {storage: nosuchstore", "rootfs: {storage: local-lvm")
    done = ws.run("apply", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert ws.plan_json()["changes"] == []
    assert {v: c["name"] for v, c in _lxc(ws.sim).items()} == SEED
