"""Real OpenSSH servers for tests: one `sshd -D -e` per CT address (127.0.x.y), generated host
and user keys, its own config, pid file and authorized_keys file; login as a real `datalake`
system user (created when missing, as root), with StrictModes on and no root login."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"
USERADD = shutil.which("useradd") or "/usr/sbin/useradd"
USER = "datalake"  # the seed's login user on every CT


class NoLoginUser(Exception):
    """The `datalake` user is missing and this process cannot create it (not root)."""


def ensure_user() -> pwd.struct_passwd:
    """The `datalake` user, created if missing (idempotent; a parallel creation is fine).

    Its password field is `*` (no password, but not `!`-locked: with `UsePAM no`, sshd
    refuses key logins to a locked account)."""
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise NoLoginUser(f"user {USER} does not exist and only root can create it")
    done = subprocess.run(
        [USERADD, "--create-home", "--shell", "/bin/sh", "--password", "*", USER],
        capture_output=True,
        check=False,
    )
    if done.returncode not in (0, 9):  # 9: it exists (another worker made it meanwhile)
        raise RuntimeError(f"useradd {USER}: {done.stderr.decode(errors='replace')}")
    return pwd.getpwnam(USER)


def user_dir(user: pwd.struct_passwd) -> Path:
    """A fresh private directory (0700, owned by the user) in its home: StrictModes checks
    every directory from an AuthorizedKeysFile up to the home, so it cannot be under /tmp."""
    path = Path(user.pw_dir) / ".reconciler-tests" / secrets.token_hex(6)
    for folder in (path.parent, path):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chown(folder, user.pw_uid, user.pw_gid)
    return path


def owned_dir(path: Path, user: pwd.struct_passwd) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chown(path, user.pw_uid, user.pw_gid)
    return path


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
                    "StrictModes yes",
                    "PermitRootLogin no",
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


def make_sshd(
    folder: Path, host: str, port: int, authorized: str, keys_dir: Path, user: pwd.struct_passwd
) -> Sshd:
    """sshd config and host key in `folder` (root's), authorized_keys in `keys_dir` (a 0700
    directory of the user's, the file 0600 and the user's: what StrictModes wants)."""
    folder.mkdir(parents=True, exist_ok=True)
    host_key = folder / "host_ed25519"
    keygen(host_key)
    keys = owned_dir(keys_dir, user) / "authorized_keys"
    keys.write_text(authorized + "\n")
    os.chmod(keys, 0o600)
    os.chown(keys, user.pw_uid, user.pw_gid)
    server = Sshd(host, port, folder, host_key, keys)
    server.start()
    return server
