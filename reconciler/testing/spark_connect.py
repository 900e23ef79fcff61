"""Starts a Spark Connect server (Spark 4.0.1, Iceberg runtime, given catalogs) on loopback.

For tests and for users trying `spark.remote` on one machine:

    python -m reconciler.testing.spark_connect --port 15002 \
        --catalog lake=sqlite:////srv/lake/catalog.db --warehouse lake=file:///srv/lake/wh

The catalogs are configured on the server (the reconciler never sends catalog conf to a
remote session); jars come from the local Maven repository (`.ci/jars`), so no network.
SQL catalogs only (SQLite or PostgreSQL URIs, as pyiceberg's SQL catalog takes them).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.providers.spark.jobs import (
    EXTENSIONS,
    RUNTIME_PACKAGE,
    catalog_conf,
    maven_path,
)
from reconciler.providers.spark.runner import job_env

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
START_TIMEOUT = 180.0
M2_REPOSITORY = Path(os.environ.get("M2_REPO", Path.home() / ".m2" / "repository"))


class ConnectServerError(RuntimeError):
    """The server could not start (missing jars, a port in use, a JVM error)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_argv(
    port: int,
    catalogs: Mapping[str, Mapping[str, str]],
    *,
    jars: Sequence[str] = (),
    master: str = "local[2]",
    spark_submit: str | None = None,
    conf: Mapping[str, str] | None = None,
) -> list[str]:
    """The spark-submit command line of a Connect server (`conf` over our defaults);
    catalog secrets are refused here (they would be on a command line)."""
    submit = spark_submit or str(Path(sys.executable).parent / "spark-submit")
    runtime = str(maven_path(RUNTIME_PACKAGE, M2_REPOSITORY))
    all_jars = [runtime, *jars]
    settings: dict[str, str] = {
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        "spark.sql.extensions": EXTENSIONS,
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.scheduler.mode": "FAIR",
    }
    for name, props in catalogs.items():
        built = catalog_conf(name, props)
        if built.secrets:
            raise ConnectServerError(f"catalog {name}: secrets are not supported by this launcher")
        settings.update(built.conf)
        all_jars.extend(built.jars)
    settings.update(conf or {})
    argv = [submit, "--master", master, "--class", SERVER_CLASS, "--name", "spark-connect"]
    argv += ["--jars", ",".join(dict.fromkeys(all_jars))]
    for key, value in settings.items():
        argv += ["--conf", f"{key}={value}"]
    return argv


@dataclass
class ConnectServer:
    """A running server; `url` is what `spark.remote` takes."""

    process: subprocess.Popen[bytes]
    port: int
    log_file: Path

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start_server(
    catalogs: Mapping[str, Mapping[str, str]],
    log_file: Path,
    *,
    port: int = 0,
    jars: Sequence[str] = (),
    timeout: float = START_TIMEOUT,
    conf: Mapping[str, str] | None = None,
) -> ConnectServer:
    """Start a server and wait until it accepts connections (raises ConnectServerError)."""
    runtime = Path(maven_path(RUNTIME_PACKAGE, M2_REPOSITORY))
    if not runtime.is_file():
        raise ConnectServerError(f"{runtime} missing: run .ci/jars")
    chosen = port or free_port()
    argv = server_argv(chosen, catalogs, jars=jars, conf=conf)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("wb") as out:
        # An argument list, no shell; its own group so stop() takes the whole JVM.
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=job_env(os.environ), start_new_session=True,
        )  # fmt: skip
    server = ConnectServer(process, chosen, log_file)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConnectServerError(
                f"Spark Connect server exited with {process.returncode}: see {log_file}"
            )
        if "Spark Connect server started" in log_file.read_text(errors="replace"):
            return server
        time.sleep(0.5)
    server.stop()
    raise ConnectServerError(f"Spark Connect server not up after {timeout:.0f}s: see {log_file}")


def _pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name:
            raise SystemExit(f"{flag} {value!r}: expected NAME=VALUE")
        out[name] = rest
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reconciler.testing.spark_connect")
    parser.add_argument("--port", type=int, default=15002, help="0: a free port")
    parser.add_argument("--catalog", action="append", default=[], help="NAME=SQLALCHEMY_URI")
    parser.add_argument("--warehouse", action="append", default=[], help="NAME=URI")
    parser.add_argument("--jar", action="append", default=[], help="an extra jar")
    parser.add_argument("--conf", action="append", default=[], help="KEY=VALUE, over ours")
    parser.add_argument("--log-file", type=Path, default=Path("spark-connect.log"))
    args = parser.parse_args(argv)
    warehouses = _pairs(args.warehouse, "--warehouse")
    catalogs: dict[str, dict[str, str]] = {}
    for name, uri in _pairs(args.catalog, "--catalog").items():
        catalogs[name] = {"type": "sql", "uri": uri}
        if name in warehouses:
            catalogs[name]["warehouse"] = warehouses[name]
    try:
        server = start_server(
            catalogs, args.log_file, port=args.port, jars=args.jar, conf=_pairs(args.conf, "--conf")
        )
    except ConnectServerError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(server.url, flush=True)
    # SIGTERM (kill, systemd stop) as Ctrl-C: the JVM is in a session of its own and would
    # outlive this process otherwise.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
