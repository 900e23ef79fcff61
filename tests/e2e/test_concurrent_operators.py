"""Two operators at once (issue 14, item 6): two `reconcile apply` processes with separate state
directories against one Proxmox VE (the simulator) give true messages and converge."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from reconciler.model.containers import CREATE_PENDING_TAG, OWNER_TAG
from reconciler.testing.pvesim import PveSim
from tests.e2e.conftest import Workspace, make_workspace
from tests.e2e.test_cli_containers import SEED


def _both_apply(first: Workspace, second: Workspace) -> list[subprocess.CompletedProcess[str]]:
    procs = [
        subprocess.Popen(
            ws.argv("apply", "--yes"),
            env=ws.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for ws in (first, second)
    ]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def test_two_applies_at_once_with_separate_state_converge_with_true_messages(
    tmp_path: Path, pvesim_factory: Callable[..., PveSim]
) -> None:
    # Tasks that take a while, so that the two runs' creates and starts really overlap.
    pvesim = pvesim_factory(task_seconds=0.3)
    first = make_workspace(tmp_path / "a", pvesim)
    second = make_workspace(tmp_path / "b", pvesim)
    runs = _both_apply(first, second)
    for run in runs:
        text = run.stdout + run.stderr
        assert "did not create" not in text, text
        assert "already running" not in text, text
        assert "Traceback" not in text, text
        assert run.returncode == 0, text
    lxc = {int(c["vmid"]): c for c in pvesim.api().nodes("pve").lxc.get()}
    assert {vmid: ct["name"] for vmid, ct in lxc.items()} == SEED  # one CT per spec, no more
    assert all(ct["status"] == "running" for ct in lxc.values())
    for vmid in SEED:
        tags = str(pvesim.api().nodes("pve").lxc(vmid).config.get()["tags"])
        assert OWNER_TAG in tags and CREATE_PENDING_TAG not in tags
    for ws in (first, second):
        again = ws.run("plan")
        assert again.returncode == 0 and again.stdout.startswith("No changes."), again.stdout
