"""`reconcile daemon` as a real subprocess: git pushes, webhook, drift timer, signals, lock."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from daemon_gitrepo import Origin, free_port
from daemon_harness import DaemonProcess, container, ct_config, write_config

import reconciler.wiring  # noqa: F401  (an import regression must fail this suite, not skip it)
from reconciler.daemon.lock import cycle_lock
from reconciler.daemon.status import drift
from reconciler.daemon.webhook import PATH, signature


def _memory(sim: Any, vmid: int) -> int | None:
    config = ct_config(sim, vmid)
    return int(config["memory"]) if config else None


def _creates(sim: Any, vmid: int) -> int:
    return sum(
        1
        for r in sim.requests()
        if r.method == "POST" and r.path.endswith("/lxc") and str(r.params.get("vmid")) == str(vmid)
    )


def test_converges_each_commit_and_rejects_invalid_revisions_whole(
    origin: Origin, pvesim: Any, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    first = origin.commit({"specs/a.yaml": container("a", 201, "1GiB")}, "add a")
    daemon = DaemonProcess(write_config(tmp_path, origin.url, pvesim, poll="1s"), pvesim).start()
    daemons.append(daemon)
    daemon.until(
        "first revision",
        lambda: (
            daemon.status()["revision"] == first and daemon.status()["last_result"] == "success"
        ),
    )
    assert _memory(pvesim, 201) == 1024

    bad = origin.commit(
        {
            "specs/a.yaml": container("a", 201, "4GiB"),
            "specs/b.yaml": container("b", 202).replace("cores: 1", "corez: 1"),
        },
        "broken b",
    )
    st = daemon.until("rejection", lambda: (s := daemon.status())["rejected_revision"] == bad and s)
    assert st["revision"] == first and "b.yaml:" in st["error"]
    ready = {c["type"]: c for c in st["conditions"]}
    assert ready["Ready"]["status"] == "False" and ready["Ready"]["reason"] == "SpecInvalid"
    assert ready["Stalled"]["status"] == "True"  # until a new commit arrives
    time.sleep(1.5)  # polls keep ignoring the rejected revision
    assert _memory(pvesim, 201) == 1024 and ct_config(pvesim, 202) is None
    assert daemon.history()[0]["result"] in ("rejected", "success")

    fixed = origin.commit({"specs/b.yaml": container("b", 202)}, "fix b")
    daemon.until(
        "fixed revision",
        lambda: (
            daemon.status()["revision"] == fixed and daemon.status()["last_result"] == "success"
        ),
    )
    st = daemon.status()
    assert st["error"] is None and st["rejected_revision"] is None
    assert [(c["type"], c["status"], c["reason"]) for c in st["conditions"]] == [
        ("Ready", "True", "ReconciliationSucceeded")
    ]
    assert st["reason"] == "ReconciliationSucceeded"
    assert _memory(pvesim, 201) == 4096 and _memory(pvesim, 202) == 1024
    results = [c["result"] for c in reversed(daemon.history())]
    assert results.count("rejected") == 1 and results[-1] == "success"


def test_webhook_triggers_only_for_a_valid_new_delivery(
    origin: Origin, pvesim: Any, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    origin.commit({"specs/a.yaml": container("a", 211)})
    port = free_port()
    config = write_config(
        tmp_path,
        origin.url,
        pvesim,
        poll="1h",
        webhook=f"127.0.0.1:{port}",
        metrics=f"127.0.0.1:{free_port()}",
    )
    daemon = DaemonProcess(config, pvesim).start()
    daemons.append(daemon)
    daemon.until("start cycle", lambda: daemon.status()["last_result"] == "success")
    head = origin.commit({"specs/a.yaml": container("a", 211, "2GiB")})
    body = json.dumps({"ref": "refs/heads/main", "after": head}).encode()
    url = f"http://127.0.0.1:{port}{PATH}"

    def post(sig: str | None, delivery: str) -> int:
        headers = {"X-Gitea-Event": "push", "X-Gitea-Delivery": delivery}
        if sig is not None:
            headers["X-Gitea-Signature"] = sig
        return requests.post(url, data=body, headers=headers, timeout=5).status_code

    assert post(None, "d-1") == 401
    assert post(signature(b"not-the-secret", body), "d-1") == 401
    time.sleep(1.0)
    assert daemon.status()["revision"] != head  # nothing ran

    sent = time.time()
    assert post(signature(b"hook-secret", body), "d-1") == 202
    cycle = daemon.until(
        "webhook cycle",
        lambda: next((c for c in daemon.history() if c["trigger"] == "webhook"), None),
        timeout=20,
    )
    # poll is 1 h: the cycle came from the push (how soon is tests/unit/daemon/test_schedule.py)
    assert cycle_start(cycle) >= sent
    assert cycle["revision"] == head and _memory(pvesim, 211) == 2048
    assert post(signature(b"hook-secret", body), "d-1") == 200  # replayed delivery
    time.sleep(1.0)
    assert [c["trigger"] for c in daemon.history()].count("webhook") == 1


def cycle_start(cycle: dict[str, Any]) -> float:
    from datetime import datetime

    return datetime.fromisoformat(cycle["started_at"]).timestamp()


def test_drift_timer_heals_enforce_and_only_reports_warn(
    origin: Origin,
    pvesim: Any,
    tmp_path: Path,
    daemons: list[DaemonProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    origin.commit(
        {
            "specs/e.yaml": container("e", 221, "1GiB", drift="enforce"),
            "specs/w.yaml": container("w", 222, "1GiB", drift="warn"),
        }
    )
    metrics_port = free_port()
    config = write_config(
        tmp_path, origin.url, pvesim, poll="1h", drift="2s", metrics=f"127.0.0.1:{metrics_port}"
    )
    daemon = DaemonProcess(config, pvesim).start()
    daemons.append(daemon)
    daemon.until(
        "converged",
        lambda: (
            _memory(pvesim, 221) == 1024
            and _memory(pvesim, 222) == 1024
            and daemon.status()["last_result"] == "success"
        ),
    )
    api = pvesim.api()
    api.nodes("pve").lxc(221).config.put(memory=3072)
    api.nodes("pve").lxc(222).config.put(memory=3072)

    daemon.until("enforce healed", lambda: _memory(pvesim, 221) == 1024, timeout=30)
    daemon.until("drift cycle recorded", lambda: daemon.status()["pending_drift"] == 1)
    assert _memory(pvesim, 222) == 3072  # warn: reported, never applied by the timer
    monkeypatch.setenv("PVE_TOKEN_SECRET", pvesim.token_secret)
    report = json.loads(drift(daemon.settings, "json"))
    (entry,) = report["drift"]
    assert entry["address"] == "container/w" and entry["action"] == "update"
    assert [f["path"] for f in entry["fields"]] == ["memory"]
    assert entry["commit"] and entry["since"] <= report["generated_at"]
    text = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    assert 'reconciler_drifted_resources{kind="container"} 1' in text


def test_sd_notify_sigterm_and_restart_without_duplicate_work(
    origin: Origin, pvesim_factory: Any, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    sim = pvesim_factory(task_seconds=1.5)
    origin.commit({f"specs/c{i}.yaml": container(f"c{i}", 230 + i) for i in range(3)})
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(0.5)
    messages: list[str] = []
    done = threading.Event()

    def collect() -> None:  # like systemd: always reading
        while not done.is_set():
            try:
                messages.append(sock.recv(4096).decode())
            except TimeoutError:
                continue

    collector = threading.Thread(target=collect)
    collector.start()
    config = write_config(tmp_path, origin.url, sim, poll="1h")
    daemon = DaemonProcess(config, sim, {"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "1000000"})
    daemons.append(daemon.start())
    try:
        daemon.until("an action started", lambda: "action.start" in daemon.output(), timeout=30)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0
        time.sleep(0.6)
    finally:
        done.set()
        collector.join()
        sock.close()
    assert messages[0].startswith("READY=1\nSTATUS=revision")
    assert "WATCHDOG=1" in messages and messages[-1].startswith("STOPPING=1")
    assert any(m.startswith("STATUS=revision") and "last" in m for m in messages[1:])
    assert len([vm for vm in (ct_config(sim, 230 + i) for i in range(3)) if vm]) < 3
    cut = daemon.history()[0]  # a cycle cut short by SIGTERM is not recorded as a success
    assert cut["result"] == "failed" and "stopped before" in cut["error"]

    starts = daemon.output().count("action.start")
    again = DaemonProcess(config, sim).start()  # picks up where the first one stopped
    daemons.append(again)
    again.until("another action", lambda: again.output().count("action.start") > starts)
    again.signal(signal.SIGKILL)  # mid-apply, no chance to clean up
    again.wait()

    before = len(again.history())
    third = DaemonProcess(config, sim).start()
    daemons.append(third)
    third.until(
        "its start cycle",
        lambda: (
            len(h := third.history()) > before
            and h[0]["trigger"] == "start"
            and h[0]["result"] == "success"
        ),
        timeout=90,
    )
    assert all(ct_config(sim, 230 + i) for i in range(3))
    # The killed daemon's create task may still hold `lock: create` during that start cycle
    # (a `deferred` line); the CT is adopted by a following cycle. Converged within a few.
    for _ in range(3):
        seen = len(third.history())
        third.signal(signal.SIGHUP)
        cycle = third.until(
            "SIGHUP cycle",
            lambda seen=seen: (
                (h := third.history())[0]["trigger"] == "signal" and len(h) > seen and h[0]
            ),
        )
        assert cycle["result"] == "success", cycle
        if cycle["summary"] == {}:
            break
    assert cycle["summary"] == {} and cycle["actions"] == []
    assert all(_creates(sim, 230 + i) == 1 for i in range(3))  # nothing created twice


def test_the_lock_stops_a_concurrent_apply(origin: Origin, pvesim: Any, tmp_path: Path) -> None:
    origin.commit({"specs/a.yaml": container("a", 241)})
    config = write_config(tmp_path, origin.url, pvesim)
    daemon = DaemonProcess(config, pvesim)
    specs = tmp_path / "plain-specs"
    specs.mkdir()
    (specs / "a.yaml").write_text(container("a", 241))
    plain = (
        config.read_text().split("source:")[0]
        + f"specs: {specs}\n"
        + "proxmox:"
        + config.read_text().split("proxmox:")[1].split("daemon:")[0]
    )
    (tmp_path / "plain.yaml").write_text(plain)
    with cycle_lock(daemon.settings.state_dir, wait=False):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "reconciler.cli",
                "--config",
                str(tmp_path / "plain.yaml"),
                "apply",
                "--yes",
            ],
            env=daemon.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode != 0
    assert "another reconcile is running" in done.stdout + done.stderr
    assert ct_config(pvesim, 241) is None
