"""The daemon survives what review found: a busy lock (no spin, no lost trigger), a bad tree."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon_gitrepo import Origin
from daemon_harness import DaemonProcess, container, ct_config, write_config

from reconciler.daemon.lock import cycle_lock
from reconciler.daemon.triggers import Triggers

JSON_LOGS = {"JOURNAL_STREAM": "8:1"}  # JSON log lines, as under systemd


def _events(daemon: DaemonProcess, name: str) -> list[dict[str, Any]]:
    found = []
    for line in daemon.output().splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == name:
                found.append(event)
    return found


def _started(cycle: dict[str, Any]) -> float:
    return datetime.fromisoformat(cycle["started_at"]).timestamp()


def _memory(sim: Any, vmid: int) -> int | None:
    config = ct_config(sim, vmid)
    return int(config["memory"]) if config else None


def test_a_busy_lock_neither_spins_nor_drops_the_trigger(
    origin: Origin, pvesim: Any, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    head = origin.commit({"specs/a.yaml": container("a", 248)})
    config = write_config(tmp_path, origin.url, pvesim, poll="1h", drift="2s")
    daemon = DaemonProcess(config, pvesim, JSON_LOGS)
    with cycle_lock(daemon.settings.state_dir, wait=False):  # e.g. `reconcile apply`
        daemons.append(daemon.start())
        daemon.until(
            "the start trigger found the lock busy",
            lambda: _events(daemon, "cycle.busy"),
            timeout=30,
        )
        time.sleep(4.0)  # the drift timer (2 s) falls due while the lock is still held
        busy = _events(daemon, "cycle.busy")
        released = time.time()
    assert 1 <= len(busy) <= 2, f"{len(busy)} busy cycles while the lock was held"
    assert busy[0]["trigger"] == "start"
    assert daemon.history() == []

    cycle = daemon.until(
        "the start cycle, once the lock is free",
        lambda: next(iter(daemon.history()), None),
        timeout=30,
    )
    assert cycle["trigger"] == "start" and cycle["revision"] == head, cycle
    assert cycle["result"] == "success" and _memory(pvesim, 248) == 1024, cycle["error"]

    daemon.until("a drift cycle", lambda: any(c["trigger"] == "drift" for c in daemon.history()))
    before = len(_events(daemon, "cycle.busy"))
    with cycle_lock(daemon.settings.state_dir, wait=True):
        pvesim.api().nodes("pve").lxc(248).config.put(memory=3072)  # only a later cycle heals
        time.sleep(4.0)
        busy = _events(daemon, "cycle.busy")[before:]
        released = time.time()
    assert 1 <= len(busy) <= 2 and {e["trigger"] for e in busy} == {"drift"}
    healed = daemon.until(
        "the drift cycle that was busy",
        lambda: next(
            (c for c in daemon.history() if c["trigger"] == "drift" and _started(c) >= released),
            None,
        ),
        timeout=30,
    )
    assert healed["result"] == "success" and _memory(pvesim, 248) == 1024


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


def test_triggers_hold_after_busy_then_rerun_the_same_trigger() -> None:
    now = time.time()
    timers = Triggers(next_poll=now + 3600, next_drift=now - 1, tick=0.05, idle=lambda: None)
    assert timers.next() == "drift"
    timers.busy("drift", time.time(), retry=0.3)
    timers.request("webhook")  # a push while the lock is held waits too
    started = time.monotonic()
    assert timers.next() == "webhook"
    assert time.monotonic() - started >= 0.25
    timers.busy("webhook", time.time(), retry=0.2)
    assert timers.next() == "webhook"  # re-queued, not lost
    assert timers.next() == "drift"  # the drift deadline moved, it did not vanish
    timers.stop()
    assert timers.next() is None
