"""The README's first command works: the demo converges the example lake from nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.conftest import ROOT


def test_scripts_demo_converges(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo"), "--workdir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "Plan: 10 to create" in out
    assert "Apply complete! 10 applied." in out
    assert out.rstrip().endswith("Demo converged: plan exit 2, apply exit 0, second plan exit 0.")
    second_plan = out.split("$ reconcile")[-1]
    assert "No changes." in second_plan
