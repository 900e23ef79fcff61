"""The reliability campaign (bench/reliability.py, issue 14.7) in its CI mode: one table, every
scenario converged, 0 secret hits; and its secret scan does find a planted secret."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "reliability.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_reliability", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_short_campaign_converges_with_no_secret_hits() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--short"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=420,  # about 75 s on an idle host; a loaded one triples it
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert re.search(r"fault seed [0-9]+ \(replay: --seed [0-9]+\)", out), out
    rows = {line.split(" | ")[0].strip(): line for line in out.splitlines() if " | " in line}
    converged = re.compile(r"\| yes +\|")
    assert all(converged.search(line) for name, line in rows.items() if name != "scenario"), out
    kills = rows["kill -9 at PVE request k"]
    assert "dup CTs 0, stuck locks 0, half-evolved tables 0, plan lines left 0" in kills
    faults = rows["fault mixes (500/595/596, lock timeouts, task failures, lost answers)"]
    assert re.search(r"faulted answers [0-9]+, lost answers [0-9]+, dup CTs 0, ", faults), faults
    bad = rows["bad inputs (tests/unit/sources corpus)"]
    assert re.search(r"\| (1[0-9]{2}) +\| rejected \1, accepted 0 ", bad), bad
    secrets = rows["secret scan (outputs, files, history rows, argv)"]
    assert "| hits 0 " in secrets, secrets
    assert not re.search(r"\b0 environments holding", secrets), secrets
    assert "5/5 scenarios passed" in out


def test_the_secret_scan_finds_a_planted_secret_and_fails_its_row() -> None:
    bench = _bench()
    scan = bench.Secrets({"PVE token": "s3cr3t-value"})
    scan.canaries = 1
    scan.add("stdout of plan", "all clean")
    assert bench.scenario_secrets(scan).converged
    scan.add("stderr of apply", "Authorization: PVEAPIToken=x=s3cr3t-value")
    row = bench.scenario_secrets(scan)
    assert not row.converged and row.outcomes.startswith("hits 1: PVE token in stderr of apply")
    assert re.search(r"\| NO +\|", bench.render([row]))
