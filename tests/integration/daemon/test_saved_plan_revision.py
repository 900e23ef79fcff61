"""A saved plan records the git commit its specs came from; `apply FILE` refuses it once the
branch has moved on (real git origin, pvesim, `reconcile` subprocesses, no daemon running)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from daemon_gitrepo import Origin
from daemon_harness import DaemonProcess, container, write_config


def _cli(daemon: DaemonProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconciler.cli", "--config", str(daemon.config), *args],
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=daemon.config.parent,
    )


def test_a_saved_plan_names_its_commit_and_is_stale_once_the_branch_moves(
    origin: Origin, pvesim: Any, tmp_path: Path
) -> None:
    first = origin.commit({"specs/w.yaml": container("w", 241, "1GiB")}, "w with 1 GiB")
    cli = DaemonProcess(write_config(tmp_path, origin.url, pvesim, poll="1h"), pvesim)
    out = tmp_path / "w.plan.json"
    saved = _cli(cli, "plan", "--out", str(out))
    assert saved.returncode == 2, saved.stderr
    doc = json.loads(out.read_text())
    assert doc["source"]["revision"] == first
    assert [(c["address"], c["action"]) for c in doc["changes"]] == [("container/w", "create")]

    origin.commit({"specs/w.yaml": container("w", 241, "2GiB")}, "w with 2 GiB")
    moved = _cli(cli, "apply", str(out), "--yes")
    assert moved.returncode == 1
    assert "error: saved plan is stale: the specs revision differs: saved " + first in moved.stderr
    assert pvesim.api().nodes("pve").lxc.get() == []  # nothing was written

    again = tmp_path / "again.plan.json"
    assert _cli(cli, "plan", "--out", str(again)).returncode == 2
    done = _cli(cli, "apply", str(again), "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    (ct,) = pvesim.api().nodes("pve").lxc.get()
    assert ct["name"] == "w"
    assert dict(pvesim.api().nodes("pve").lxc(241).config.get())["memory"] == 2048
