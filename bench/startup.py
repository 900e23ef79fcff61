"""Benchmark: wall time and peak RSS of `reconcile --help`, `validate` and a plan of the example
lake, side by side with `python -c pass` as the floor. Prints figures; asserts nothing.

Each command runs as a fresh process (as users run it), several times; the median wall time
and the largest peak RSS (GNU time's %M of the child) are printed, with the ratio to the floor.
The plans run against the simulator in its own process: the example containers alone (no
Iceberg import), then the whole example lake (containers, tables, policies) on the embedded
SQLite catalog, which loads pyiceberg and pyarrow.

    .venv/bin/python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reconciler.testing.pvesim import PveSim

ROOT = Path(__file__).resolve().parents[1]
GNU_TIME = "/usr/bin/time"  # Debian package `time`


def measure(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """(median seconds, peak MiB) over `runs` fresh processes.

    Peak RSS comes from GNU time (`%M`): a child forked from this benchmark would inherit the
    benchmark's own high-water mark, while one forked from `time` (a small C program) does not.
    """
    seconds: list[float] = []
    peak_kib = 0
    for _ in range(runs):
        with tempfile.NamedTemporaryFile("r") as report:
            started = time.perf_counter()
            done = subprocess.run(
                [GNU_TIME, "-f", "%M", "-o", report.name, *argv],
                env=env,
                capture_output=True,
                check=False,
            )
            seconds.append(time.perf_counter() - started)
            if done.returncode not in (0, 2):
                raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr!r}")
            peak_kib = max(peak_kib, int(report.read().split()[-1]))
    return statistics.median(seconds), peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not Path(GNU_TIME).is_file():
        raise SystemExit(f"{GNU_TIME} is missing: apt-get install time")
    with tempfile.TemporaryDirectory() as tmp, PveSim(task_seconds=0.0) as sim:
        work = Path(tmp)
        shutil.copytree(ROOT / "specs" / "containers", work / "cts" / "containers")
        shutil.copytree(ROOT / "specs" / "defaults", work / "cts" / "defaults")
        shutil.copytree(ROOT / "specs", work / "lake")
        proxmox = (
            f"proxmox:\n  host: {sim.host}\n  port: {sim.port}\n  user: {sim.token_user}\n"
            f"  token_name: {sim.token_name}\n  token_secret_env: PVE_TOKEN_SECRET\n"
            f"  verify_ssl: {sim.ca_file}\n  node: pve\n"
        )
        config, lake = work / "cts.yaml", work / "lake.yaml"
        config.write_text(f"specs: {work / 'cts'}\nstate_dir: {work / 'state'}\n{proxmox}")
        lake.write_text(f"specs: {work / 'lake'}\nstate_dir: {work / 'lake-state'}\n{proxmox}")
        env = {**os.environ, "PVE_TOKEN_SECRET": sim.token_secret, "PYTHONPATH": str(ROOT)}
        python = sys.executable
        cli = [python, "-m", "reconciler.cli", "--config", str(config)]
        cases = [
            ("python -c pass (floor)", [python, "-c", "pass"]),
            ("reconcile --help", [*cli, "--help"]),
            ("reconcile validate", [*cli, "validate"]),
            ("reconcile status", [*cli, "status"]),
            ("reconcile plan (example CTs)", [*cli, "plan"]),
            (
                "reconcile plan (example lake)",
                [python, "-m", "reconciler.cli", "--config", str(lake), "plan"],
            ),
        ]
        floor_s, floor_mib = measure(cases[0][1], env, args.runs)
        print(f"{'command':<32} {'median s':>9} {'x floor':>8} {'peak MiB':>9} {'x floor':>8}")
        for name, argv in cases:
            seconds, mib = (
                (floor_s, floor_mib) if argv is cases[0][1] else measure(argv, env, args.runs)
            )
            print(
                f"{name:<32} {seconds:>9.3f} {seconds / floor_s:>8.1f} "
                f"{mib:>9.1f} {mib / floor_mib:>8.1f}"
            )


if __name__ == "__main__":
    main()
