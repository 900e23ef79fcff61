"""A real `reconcile daemon` subprocess against a git origin and the pvesim simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.daemon.status import history, status
from reconciler.settings import Settings
from reconciler.sources.config import load_settings

ROOT = Path(__file__).resolve().parents[3]
WEBHOOK_SECRET = "hook-secret"

CONTAINER = """apiVersion: reconciler/v1
kind: Container
metadata: {{name: {name}}}
spec:
  vmid: {vmid}
  node: pve
  template: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
  cores: 1
  memory: {memory}
  swap: 512MiB
  rootfs: {{storage: local-lvm, size: 8GiB}}
  network:
    - {{name: eth0, bridge: vmbr0, ip: 192.168.4.{vmid}/24, gateway: 192.168.4.1}}
  state: running
  drift: {drift}
"""


def container(name: str, vmid: int, memory: str = "1GiB", drift: str = "enforce") -> str:
    return CONTAINER.format(name=name, vmid=vmid, memory=memory, drift=drift)


def write_config(
    tmp: Path,
    url: str,
    sim: Any,
    poll: str = "1s",
    drift: str = "1h",
    webhook: str | None = None,
    metrics: str | None = None,
    git_extra: str = "",
    daemon_extra: tuple[str, ...] = (),
) -> Path:
    """git_extra: more `source.git` flow-mapping entries; daemon_extra: more daemon lines."""
    daemon = [
        f"  poll_interval: {poll}",
        f"  drift_interval: {drift}",
        *(f"  {line}" for line in daemon_extra),
    ]
    if webhook:
        daemon.append(f'  webhook: {{listen: "{webhook}", secret_env: WEBHOOK_SECRET}}')
    if metrics:
        daemon.append(f'  metrics: {{listen: "{metrics}"}}')
    text = "\n".join(
        [
            f"state_dir: {tmp / 'state'}",
            "source:",
            f'  git: {{url: "{url}", branch: main, path: specs{git_extra}}}',
            "proxmox:",
            f"  host: {sim.host}",
            f"  port: {sim.port}",
            f"  user: {sim.token_user}",
            f"  token_name: {sim.token_name}",
            "  token_secret_env: PVE_TOKEN_SECRET",
            f"  verify_ssl: {sim.ca_file}",
            "  node: pve",
            "apply: {retries: 2}",
            "daemon:",
            *daemon,
            "",
        ]
    )
    path = tmp / "reconciler.yaml"
    path.write_text(text)
    return path


class DaemonProcess:
    """Starts `python -m reconciler.cli daemon`; reads its state through status()/history()."""

    def __init__(self, config: Path, sim: Any, extra_env: dict[str, str] | None = None) -> None:
        self.config = config
        self.settings: Settings = load_settings(config)
        self.log = config.parent / "daemon.log"
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        self.env = {
            **os.environ,
            "PYTHONPATH": path,
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "PVE_TOKEN_SECRET": sim.token_secret,
            **(extra_env or {}),
        }
        for key in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "INVOCATION_ID"):
            if extra_env is None or key not in extra_env:
                self.env.pop(key, None)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DaemonProcess:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "reconciler.cli", "--config", str(self.config), "daemon"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.config.parent,
            )
        return self

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 60) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def status(self) -> dict[str, Any]:
        return status(self.settings)

    def history(self, n: int = 50) -> list[dict[str, Any]]:
        return history(self.settings, n)

    def until(self, what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}:\n{self.output()}")
            value = check()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(
            f"timed out waiting for {what}; status {self.status()}\n{self.output()[-4000:]}"
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def ct_config(sim: Any, vmid: int) -> dict[str, Any] | None:
    api = sim.api()
    for ct in api.cluster.resources.get(type="vm"):
        if int(ct["vmid"]) == vmid:
            return dict(api.nodes(ct["node"]).lxc(vmid).config.get())
    return None
