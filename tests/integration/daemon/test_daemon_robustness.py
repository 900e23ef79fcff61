"""The daemon survives what review found: a busy lock (no lost trigger), a bad tree."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from daemon_gitrepo import Origin
from daemon_harness import DaemonProcess, container, ct_config, write_config

from reconciler.daemon.lock import cycle_lock

JSON_LOGS = {"JOURNAL_STREAM": "8:1"}  # JSON log lines, as under systemd


def _events(daemon: DaemonProcess, name: str) -> list[dict[str, Any]]:
    found = []
    for line in daemon.output().splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == name:
                found.append(event)
    return found


def _memory(sim: Any, vmid: int) -> int | None:
    config = ct_config(sim, vmid)
    return int(config["memory"]) if config else None


def test_a_busy_lock_holds_the_start_trigger_until_the_lock_frees(
    origin: Origin, pvesim: Any, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    """The real-process smoke test; the exact timing (one retry per BUSY_RETRY, no spin,
    drift behind the hold) is tests/unit/daemon/test_schedule.py on a fake clock."""
    head = origin.commit({"specs/a.yaml": container("a", 248)})
    config = write_config(tmp_path, origin.url, pvesim, poll="1h", drift="1h")
    daemon = DaemonProcess(config, pvesim, JSON_LOGS)
    with cycle_lock(daemon.settings.state_dir, wait=False):  # e.g. `reconcile apply`
        daemons.append(daemon.start())
        busy = daemon.until(
            "the start trigger found the lock busy",
            lambda: _events(daemon, "cycle.busy"),
            timeout=30,
        )
        assert busy[0]["trigger"] == "start"
        assert daemon.history() == []  # a busy cycle is not a failure, nothing recorded
    cycle = daemon.until(
        "the start cycle, once the lock is free",
        lambda: next(iter(daemon.history()), None),
        timeout=30,
    )
    assert cycle["trigger"] == "start" and cycle["revision"] == head, cycle
    assert cycle["result"] == "success" and _memory(pvesim, 248) == 1024, cycle["error"]


def test_a_commit_without_the_specs_folder_is_rejected_not_fatal(
    origin: Origin, pvesim: Any, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    first = origin.commit({"specs/a.yaml": container("a", 249)}, "add a")
    daemon = DaemonProcess(write_config(tmp_path, origin.url, pvesim, poll="1s"), pvesim).start()
    daemons.append(daemon)
    daemon.until(
        "first revision",
        lambda: (
            daemon.status()["revision"] == first and daemon.status()["last_result"] == "success"
        ),
    )

    moved = origin.commit(
        {"specs/a.yaml": None, "conf/a.yaml": container("a", 249, "4GiB")}, "move specs/ to conf/"
    )
    st = daemon.until(
        "rejection",
        lambda: (
            (s := daemon.status())["rejected_revision"] == moved
            and s["last_result"] == "rejected"
            and s
        ),
    )
    assert st["revision"] == first
    assert st["error"] == f"specs/ not found at {moved[:12]}"
    time.sleep(2.5)  # several polls later: still alive, the rejected commit is not retried
    assert daemon.proc is not None and daemon.proc.poll() is None
    results = [c["result"] for c in daemon.history() if c["revision"] == moved]
    assert results == ["rejected"] and _memory(pvesim, 249) == 1024

    back = origin.commit({"specs/a.yaml": container("a", 249, "2GiB")}, "specs/ is back")
    daemon.until(
        "fixed revision",
        lambda: daemon.status()["revision"] == back and daemon.status()["last_result"] == "success",
    )
    st = daemon.status()
    assert st["rejected_revision"] is None and st["error"] is None
    assert _memory(pvesim, 249) == 2048
