"""A workspace for CLI tests: a copy of the example container specs and a config that points
`reconcile` (run as a real subprocess) at the HTTPS simulator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
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
        return subprocess.run(
            self.argv(*args),
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def plan_json(self, *args: str) -> dict[str, Any]:
        done = self.run("plan", "--output", "json", *args)
        assert done.returncode in (0, 2), done.stderr
        doc: dict[str, Any] = json.loads(done.stdout)
        return doc

    def edit(self, name: str, old: str, new: str) -> None:
        """Replace `old` in the container's file. A value the container takes from the shared
        specs/defaults/lxc.yaml is overridden in its own spec instead, as a user would: the
        Defaults line is appended to the container's spec, then edited there."""
        path = self.specs / "containers" / f"{name}.yaml"
        text = path.read_text()
        if old not in text:
            text = text.rstrip("\n") + "\n" + self._shared_line(old) + "\n"
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, 1))

    def _shared_line(self, old: str) -> str:
        shared = self.specs / "defaults" / "lxc.yaml"
        text = shared.read_text() if shared.is_file() else ""
        found = [line for line in text.splitlines() if old in line]
        assert len(found) == 1, f"{old!r} is neither in the container's file nor once in {shared}"
        return found[0].removeprefix("  ")  # `spec.container.KEY` -> `spec.KEY`


def make_workspace(
    tmp_path: Path, sim: PveSim, extra: str = "", proxmox_extra: str = ""
) -> Workspace:
    """`proxmox_extra` lines go inside the `proxmox:` block (e.g. `backend: local`)."""
    proxmox_lines = "".join(f"  {line}\n" for line in proxmox_extra.splitlines() if line)
    specs = tmp_path / "specs"
    shutil.copytree(ROOT / "specs" / "containers", specs / "containers")
    shutil.copytree(ROOT / "specs" / "defaults", specs / "defaults")  # what the CTs share
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
{proxmox_lines}{extra}"""
    )
    return Workspace(tmp_path, config, specs, sim)


@pytest.fixture
def workspace(tmp_path: Path, pvesim: PveSim) -> Iterator[Workspace]:
    yield make_workspace(tmp_path, pvesim)


PVESH_SCRIPT = ROOT / "reconciler" / "testing" / "pvesim" / "pvesh.py"
PVESIM_PASSWORD = "rootpw"  # PveSim's default root@pam password


@dataclass(frozen=True)
class PveshStandIn:
    """A `pvesh` executable in `bin_dir` that forwards to `sim` as root@pam (ticket login)."""

    bin_dir: Path
    sim: PveSim

    @property
    def executable(self) -> Path:
        return self.bin_dir / "pvesh"

    def env(self) -> dict[str, str]:
        """PATH with the stand-in first, plus the PVESH_SIM_* settings it reads."""
        return {
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PVESH_SIM_URL": self.sim.url,
            "PVESH_SIM_CA": self.sim.ca_file,
            "PVESH_SIM_PASSWORD": PVESIM_PASSWORD,
        }


def write_pvesh(bin_dir: Path, sim: PveSim) -> PveshStandIn:
    """Write the wrapper script; `-P` keeps the simulator's folder off sys.path (stdlib only)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    stand_in = PveshStandIn(bin_dir, sim)
    stand_in.executable.write_text(f'#!/bin/sh\nexec "{sys.executable}" -P "{PVESH_SCRIPT}" "$@"\n')
    stand_in.executable.chmod(0o755)
    return stand_in


@pytest.fixture
def pvesh_on_path(tmp_path: Path, pvesim: PveSim, monkeypatch: pytest.MonkeyPatch) -> PveshStandIn:
    """The `pvesh` stand-in first on PATH (for this process and the `reconcile` children)."""
    stand_in = write_pvesh(tmp_path / "bin", pvesim)
    for key, value in stand_in.env().items():
        monkeypatch.setenv(key, value)
    return stand_in


TABLES_ONLY_TABLE = """apiVersion: reconciler/v1
kind: Table
metadata: {name: events}
spec:
  catalog: lake
  namespace: raw
  name: events
  schema:
    - {name: id, type: long}
  policy: small
"""
TABLES_ONLY_POLICY = """apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata: {name: small}
spec:
  compaction: {minSmallFiles: 2}
"""


def write_tables_only(root: Path) -> dict[str, str]:
    """A tree of one Table spec (`lake.raw.events`, policy `small`) and a config with an SQLite
    catalog `lake` and no `proxmox:` section, in `root`; the catalog's pyiceberg properties."""
    for kind, text in (("tables", TABLES_ONLY_TABLE), ("policies", TABLES_ONLY_POLICY)):
        (root / "specs" / kind).mkdir(parents=True)
        (root / "specs" / kind / "spec.yaml").write_text(text)
    (root / "warehouse").mkdir()
    props = {"uri": f"sqlite:///{root / 'lake.db'}", "warehouse": (root / "warehouse").as_uri()}
    lake = {"type": "sql", **props}
    config = {"specs": "specs", "state_dir": "state", "catalogs": {"lake": lake}}
    (root / "reconciler.yaml").write_text(json.dumps(config))
    return props


def without_pve(env: Mapping[str, str]) -> dict[str, str]:
    """`env` without any PVE_* variable: no Proxmox secret is set."""
    return {k: v for k, v in env.items() if not k.startswith("PVE_")}
