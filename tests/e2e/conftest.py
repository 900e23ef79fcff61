"""A workspace for CLI tests: a copy of the example container specs and a config that points
`reconcile` (run as a real subprocess) at the HTTPS simulator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler.testing.pvesim import PveSim

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Workspace:
    root: Path
    config: Path
    specs: Path
    sim: PveSim

    def env(self) -> dict[str, str]:
        return {**os.environ, "PVE_TOKEN_SECRET": self.sim.token_secret}

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "reconciler.cli", "--config", str(self.config), *args]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), env=self.env(), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def plan_json(self, *args: str) -> dict[str, Any]:
        done = self.run("plan", "--output", "json", *args)
        assert done.returncode in (0, 2), done.stderr
        doc: dict[str, Any] = json.loads(done.stdout)
        return doc

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.specs / "containers" / f"{name}.yaml"
        text = path.read_text()
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, 1))


def make_workspace(tmp_path: Path, sim: PveSim, extra: str = "") -> Workspace:
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs" / "containers", specs / "containers")
    config = tmp_path / "reconciler.yaml"
    config.write_text(
        f"""specs: specs
state_dir: state
proxmox:
  host: {sim.host}
  port: {sim.port}
  user: {sim.token_user}
  token_name: {sim.token_name}
  token_secret_env: PVE_TOKEN_SECRET
  verify_ssl: {sim.ca_file}
  node: pve
{extra}"""
    )
    return Workspace(tmp_path, config, specs, sim)


@pytest.fixture
def workspace(tmp_path: Path, pvesim: PveSim) -> Iterator[Workspace]:
    yield make_workspace(tmp_path, pvesim)
