"""CLI and daemon see the same lake: the daemon's revision, --revision REF, CLI applies in
history, and a status that knows when the daemon is dead (real git, pvesim, subprocesses)."""

from __future__ import annotations

import getpass
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from daemon_gitrepo import Origin, git
from daemon_harness import DaemonProcess, container, write_config

from reconciler.cli_history import redact_argv
from reconciler.daemon.heartbeat import daemon_state
from reconciler.daemon.status import status

BAD = """apiVersion: reconciler/v1
kind: Container
metadata: {name: bad}
spec: {vmid: 0}
"""


def _cli(daemon: DaemonProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler.cli", "--config", str(daemon.config), *args],
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=daemon.config.parent,
    )


def _memory_change(plan: dict[str, Any]) -> list[Any]:
    return [
        (f["before"], f["after"])
        for c in plan["changes"]
        if c["address"] == "container/w"
        for f in c["fields"]
        if f["path"] == "memory"
    ]


def test_plan_validate_drift_read_the_daemons_revision_and_revision_previews_any_commit(
    origin: Origin, pvesim: Any, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    old = origin.commit({"specs/w.yaml": container("w", 231, "1GiB")}, "w with 1 GiB")
    head = origin.commit({"specs/w.yaml": container("w", 231, "2GiB")}, "w with 2 GiB")
    daemon = DaemonProcess(write_config(tmp_path, origin.url, pvesim, poll="1h"), pvesim)

    # The daemon never fetched: the CLI fetches the tip itself and records nothing.
    first = _cli(daemon, "plan", "--output", "json")
    assert first.returncode == 2, first.stderr
    assert f"Using revision {head[:7]} (origin/main, not yet reconciled" in first.stderr
    assert [c["action"] for c in json.loads(first.stdout)["changes"]] == ["create"]
    assert status(daemon.settings)["revision"] is None  # the daemon's revision did not move

    daemons.append(daemon.start())
    daemon.until(
        "converged",
        lambda: daemon.status()["revision"] == head and daemon.status()["last_result"] == "success",
    )
    in_force = _cli(daemon, "plan")
    assert in_force.returncode == 0, in_force.stdout + in_force.stderr
    assert f"Using revision {head[:7]} (daemon, origin/main)" in in_force.stderr

    preview = _cli(daemon, "plan", "--revision", old[:10], "--output", "json")
    assert preview.returncode == 2, preview.stderr
    assert f"Using revision {old[:7]} ({old[:10]})" in preview.stderr
    assert _memory_change(json.loads(preview.stdout)) == [(2048, 1024)]  # MiB, as PVE holds it
    assert daemon.status()["revision"] == head  # a preview never moves the daemon

    valid = _cli(daemon, "validate")
    assert valid.returncode == 0, valid.stderr
    assert valid.stdout.startswith("specs: valid (1 container")  # the repository's path
    git(origin.clone, "checkout", "-q", "-b", "broken")  # a branch the daemon does not track
    (origin.clone / "specs" / "bad.yaml").write_text(BAD)
    git(origin.clone, "add", "specs/bad.yaml")
    git(origin.clone, "commit", "-q", "-m", "broken spec")
    git(origin.clone, "push", "-q", "origin", "HEAD:refs/heads/broken")
    broken = _cli(daemon, "validate", "--revision", "broken")
    assert broken.returncode == 1, broken.stdout
    assert "specs/bad.yaml:" in broken.stderr and "reconcile-revision" not in broken.stderr
    refused = _cli(daemon, "plan", "--revision", "broken")
    assert refused.returncode == 1, refused.stdout
    assert "specs/bad.yaml:" in refused.stderr and "reconcile-revision" not in refused.stderr
    unknown = _cli(daemon, "validate", "--revision", "no-such-branch")
    assert unknown.returncode == 1 and "unknown revision 'no-such-branch'" in unknown.stderr

    drift = _cli(daemon, "drift", "--format", "json", "--revision", "origin/main~1")
    assert drift.returncode == 0, drift.stderr
    (entry,) = json.loads(drift.stdout)["drift"]
    assert entry["address"] == "container/w"
    assert [f["path"] for f in entry["fields"]] == ["memory"]
    assert entry["commit"] == old


def test_cli_apply_is_in_history_and_status_says_the_killed_daemon_is_not_running(
    origin: Origin, pvesim: Any, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    head = origin.commit({"specs/w.yaml": container("w", 232, "1GiB")}, "w")
    daemon = DaemonProcess(write_config(tmp_path, origin.url, pvesim, poll="1h"), pvesim).start()
    daemons.append(daemon)
    daemon.until(
        "converged",
        lambda: daemon.status()["revision"] == head and daemon.status()["last_result"] == "success",
    )
    assert daemon.status()["daemon_running"] is True
    assert daemon.proc is not None
    pid = daemon.proc.pid
    daemon.proc.kill()  # SIGKILL: no clean stop is recorded
    daemon.wait()
    killed_at = time.time()

    fresh = status(daemon.settings, now=killed_at)  # within the threshold: not yet stale
    assert fresh["daemon_running"] is True and f"pid {pid}" in fresh["daemon"]
    later = status(daemon.settings, now=killed_at + 3 * 3600 + 2 * 3600 + 120)
    assert later["daemon_running"] is False
    assert later["daemon"].startswith("not running (last heartbeat ")
    assert later["daemon"].endswith(" h ago)")
    assert later["last_result"] == "success" and later["last_result_historical"] is True
    assert later["next_run"] is None  # nothing is scheduled by a dead daemon

    pvesim.api().nodes("pve").lxc(232).config.put(memory=2048)  # drift the CLI repairs
    applied = _cli(daemon, "apply", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"Using revision {head[:7]}" in applied.stderr
    newest, previous = daemon.history(2)
    assert newest["trigger"] == "cli" and newest["result"] == "success"
    assert newest["user"] == getpass.getuser() and newest["host"] == socket.gethostname()
    assert newest["command"] == f"reconcile --config {daemon.config} apply --yes"
    assert newest["revision"] == head
    assert newest["summary"] == {"update": 1}
    assert [(a["address"], a["status"]) for a in newest["actions"]] == [("container/w", "applied")]
    assert previous["trigger"] == "start" and previous["user"] is None
    assert daemon.status()["last_trigger"] == "start"  # status reports the daemon's cycles


def test_status_says_stopped_after_a_clean_stop(
    origin: Origin, pvesim: Any, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    origin.commit({"specs/w.yaml": container("w", 233, "1GiB")}, "w")
    daemon = DaemonProcess(write_config(tmp_path, origin.url, pvesim, poll="1h"), pvesim).start()
    daemons.append(daemon)
    daemon.until("heartbeat", lambda: daemon.status()["daemon_running"])
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0
    doc = json.loads(_cli(daemon, "status", "--output", "json").stdout)
    assert doc["daemon_running"] is False and doc["daemon"].startswith("stopped (at ")


def test_heartbeat_threshold_and_redacted_command_lines() -> None:
    beat = {"at": "2026-12-01T10:00:00Z", "pid": 7, "stale_after": 180.0, "stopped": False}
    at = 1796119200.0  # 2026-12-01T10:00:00Z
    assert daemon_state(beat, at + 179)["daemon_running"] is True
    state = daemon_state(beat, at + 3 * 3600)
    assert state == {
        "daemon": "not running (last heartbeat 2026-12-01T10:00:00Z, 3 h ago)",
        "daemon_running": False,
        "heartbeat_at": "2026-12-01T10:00:00Z",
    }
    assert daemon_state(None, at)["daemon"] == "not running (no heartbeat recorded)"
    assert redact_argv(["apply", "--token", "s3cret", "--api-key=abc", "--yes"]) == (
        "reconcile apply --token *** --api-key=*** --yes"
    )
