"""Real OpenSSH servers for tests: one `sshd -D -e` per CT address (127.0.x.y), generated host
and user keys, its own config, pid file and authorized_keys file; login as the current user."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"
USER = getpass.getuser()


def keygen(path: Path) -> str:
    """An ed25519 key pair at `path` (+ .pub); returns the public line."""
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return (path.parent / (path.name + ".pub")).read_text().strip()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port}")


@dataclass
class Sshd:
    """One server; `authorized_keys` is the file it reads (the reconciler may rewrite it)."""

    host: str
    port: int
    folder: Path
    host_key: Path
    authorized_keys: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def known_hosts_line(self) -> str:
        kind, material = (
            (self.host_key.parent / (self.host_key.name + ".pub")).read_text().split()[:2]
        )
        return f"[{self.host}]:{self.port} {kind} {material}"

    def start(self) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        config = self.folder / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"ListenAddress {self.host}:{self.port}",
                    f"HostKey {self.host_key}",
                    f"PidFile {self.folder / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.authorized_keys}",
                    "UsePAM no",
                    "StrictModes no",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    f"AllowUsers {USER}",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "sshd.log", "ab"),  # noqa: SIM115 - the process keeps it
        )
        wait_port(self.host, self.port)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def new_host_key(self) -> None:
        """Replace the host key (a rebuilt CT): restart with a fresh one."""
        self.stop()
        for suffix in ("", ".pub"):
            (self.host_key.parent / (self.host_key.name + suffix)).unlink()
        keygen(self.host_key)
        self.start()


def make_sshd(folder: Path, host: str, port: int, authorized: str) -> Sshd:
    folder.mkdir(parents=True, exist_ok=True)
    host_key = folder / "host_ed25519"
    keygen(host_key)
    keys = folder / "authorized_keys"
    keys.write_text(authorized + "\n")
    os.chmod(keys, 0o600)
    server = Sshd(host, port, folder, host_key, keys)
    server.start()
    return server
