"""Exit codes scripts can trust: `plan` 0/2/1, `apply` 0/1/3, as the process status and in
the JSON `summary.exit_code`, through real `reconcile` subprocesses against the simulator."""

from __future__ import annotations

import json
import subprocess

from reconciler.testing.pvesim import Faults
from tests.docs_json import plan_md_examples, shape
from tests.e2e.conftest import Workspace

# A window that opens only on 29 February: outside it on any day a test runs, in practice.
RARE_WINDOW = 'restartWindow: {schedule: "0 3 29 2 *", duration: 1h, timezone: UTC}'


def _converge(ws: Workspace) -> None:
    done = ws.run("apply", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Apply complete! 7 applied." in done.stdout


def test_plan_is_2_with_changes_then_0_once_converged(workspace: Workspace) -> None:
    ws = workspace
    first = ws.run("plan", "--output", "json")
    assert first.returncode == 2
    assert json.loads(first.stdout)["summary"]["exit_code"] == 2
    _converge(ws)
    again = ws.run("plan", "--output", "json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["summary"] == {"exit_code": 0}


def test_a_refused_line_is_plan_2_and_apply_3_naming_it(workspace: Workspace) -> None:
    ws = workspace
    _converge(ws)
    ws.edit("minio", "size: 20GiB", "size: 8GiB")  # a shrink: refused, never executed
    ws.sim.api().nodes("pve").lxc(108).config.put(memory=1024)  # spark drifts: applied
    plan = ws.run("plan")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    done = ws.run("apply", "--yes")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Apply complete! 1 applied, 1 refused (not applied)." in done.stdout
    as_json = ws.run("apply", "--yes", "--output", "json")
    assert as_json.returncode == 3, as_json.stderr
    doc = json.loads(as_json.stdout)  # nothing left to run: the plan document alone
    assert doc["summary"] == {"refuse": 1, "exit_code": 3}
    again = ws.run("plan")
    assert again.returncode == 2  # desired != actual for as long as the refusal stands


def test_apply_json_names_its_exit_code_and_outcomes(workspace: Workspace) -> None:
    ws = workspace
    _converge(ws)
    ws.edit("minio", "size: 20GiB", "size: 8GiB")
    ws.sim.api().nodes("pve").lxc(108).config.put(memory=1024)
    done = ws.run("apply", "--yes", "--output", "json")
    assert done.returncode == 3, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert doc["summary"]["exit_code"] == 3 and doc["summary"]["refuse"] == 1
    assert doc["outcome_summary"] == {"applied": 1}
    assert [(o["address"], o["status"]) for o in doc["outcomes"]] == [
        ("container/spark", "applied")
    ]
    # docs/plan.md's `apply --output json` example has exactly this shape
    (example,) = [d for d in plan_md_examples() if "outcomes" in d]
    optional = ("options", "depends_on")  # documented as "only when present"
    updates = [c for c in doc["changes"] if c["action"] == "update"]
    outcomes = [{**o, "result": {}} for o in doc["outcomes"]]  # a procedure's row, if any
    printed = {
        **doc,
        "changes": [{k: v for k, v in c.items() if k not in optional} for c in updates],
        "outcomes": outcomes,
    }
    printed["summary"] = {"update": 1, "exit_code": 0}
    assert shape(example) == shape(printed)


def test_a_failed_line_is_apply_1(workspace: Workspace) -> None:
    ws = workspace
    _converge(ws)
    ws.sim.api().nodes("pve").lxc(108).config.put(memory=1024)
    ws.sim.set_faults(Faults(error_rate=1.0, status=500, methods=("PUT",)))
    try:
        done = ws.run("apply", "--yes")
    finally:
        ws.sim.set_faults(Faults())
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed" in done.stdout


def test_deferred_restart_alone_is_plan_0_and_still_printed(workspace: Workspace) -> None:
    ws = workspace
    _converge(ws)
    ws.edit(
        "minio", 'restartWindow: {schedule: "0 3 * * *", duration: 2h, timezone: UTC}', RARE_WINDOW
    )
    ws.edit("minio", "domain: gti.local", "domain: lake.local")  # pending until a reboot
    first = ws.run("apply", "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    plan = ws.run("plan", "--output", "json")
    doc = json.loads(plan.stdout)
    assert [c["action"] for c in doc["changes"]] == ["deferred"], doc
    assert plan.returncode == 0 and doc["summary"]["exit_code"] == 0
    text = ws.run("plan")
    assert text.returncode == 0 and "container/minio: deferred" in text.stdout


def test_maintain_without_tables_is_0_and_prints_nothing_to_do(workspace: Workspace) -> None:
    done = workspace.run("maintain")
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_at_the_prompt_cancels(workspace: Workspace) -> None:
    """Without a terminal the prompt cannot be answered: refused, exit 1 (as Terraform)."""
    done = workspace.run("apply")
    assert done.returncode == 1
    assert "confirmation" in done.stderr
    assert workspace.sim.api().nodes("pve").lxc.get() == []


def test_version_and_a_closed_pipe(workspace: Workspace) -> None:
    version = workspace.run("--version")
    assert version.returncode == 0 and version.stdout.startswith("reconcile ")
    assert version.stdout.split()[1][0].isdigit()
    # the reader goes away before anything is written: no BrokenPipeError traceback
    script = f"import subprocess; subprocess.run({workspace.argv('plan', '--output', 'json')!r})"
    shell = f"python3 -c {script!r} | true"
    done = subprocess.run(
        ["bash", "-c", f"sleep 0 && {shell}"], env=workspace.env(), capture_output=True, text=True
    )
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
