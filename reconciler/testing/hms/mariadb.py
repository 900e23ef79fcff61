"""MariaDB on a private datadir, bound to loopback, with the metastore's database and tables."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from reconciler.testing.hms.schema import TXN_DDL


class MariaDBError(RuntimeError):
    """MariaDB could not be set up or started; the message says what to install or check."""


@dataclass(frozen=True)
class Database:
    """Where the metastore's database lives and how to reach it over TCP on loopback."""

    port: int
    name: str
    user: str
    password: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Return once 127.0.0.1:`port` accepts connections; raise if `proc` dies or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise MariaDBError(f"process exited with {proc.returncode} before port {port} answered")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise MariaDBError(f"nothing answered on 127.0.0.1:{port} within {timeout:.0f} s")


def _tool(name: str) -> str:
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if path is None:
        raise MariaDBError(f"{name} not found: install the Debian package mariadb-server")
    return path


class PrivateMariaDB:
    """`mariadbd` on `datadir` (created on first use), TCP on 127.0.0.1 only, socket inside."""

    def __init__(self, datadir: Path, port: int) -> None:
        self.datadir = datadir
        self.port = port
        self.socket = datadir.parent / "mariadb.sock"
        self._proc: subprocess.Popen[bytes] | None = None
        self._user = getpass.getuser()

    def start(self, timeout: float = 60.0) -> None:
        user_args = ["--user=root"] if os.geteuid() == 0 else []
        if not (self.datadir / "mysql").is_dir():
            self.datadir.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    _tool("mariadb-install-db"),
                    f"--datadir={self.datadir}",
                    "--skip-test-db",
                    "--auth-root-authentication-method=socket",
                    *user_args,
                ],
                check=True,
                capture_output=True,
            )
        log = (self.datadir.parent / "mariadb.log").open("ab")
        self._proc = subprocess.Popen(
            [
                _tool("mariadbd"),
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={self.datadir.parent / 'mariadb.pid'}",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=64M",
                *user_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_port(self.port, timeout, self._proc)

    def sql(self, statements: str, database: str | None = None) -> None:
        """Run SQL as the local admin over the private socket (no password on a command line)."""
        login = "root" if os.geteuid() == 0 else self._user
        cmd = [_tool("mariadb"), f"--socket={self.socket}", "-u", login, "--batch"]
        if database:
            cmd.append(database)
        done = subprocess.run(cmd, input=statements.encode(), capture_output=True)
        if done.returncode != 0:
            raise MariaDBError(f"mariadb: {done.stderr.decode(errors='replace').strip()}")

    def create_database(self, name: str, user: str, password: str) -> Database:
        """The metastore's database (latin1/latin1_bin), its user, and the transaction tables."""
        quoted = password.replace("\\", "\\\\").replace("'", "\\'")
        self.sql(
            f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET latin1 COLLATE latin1_bin;\n"
            f"CREATE USER IF NOT EXISTS '{user}'@'127.0.0.1' IDENTIFIED BY '{quoted}';\n"
            f"ALTER USER '{user}'@'127.0.0.1' IDENTIFIED BY '{quoted}';\n"
            f"GRANT ALL ON `{name}`.* TO '{user}'@'127.0.0.1';\n"
        )
        self.sql(TXN_DDL, database=name)
        return Database(self.port, name, user, password)

    def stop(self, timeout: float = 30.0) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
