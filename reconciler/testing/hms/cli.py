"""Command line of the metastore launcher: start, print the thrift URI, stop on SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from reconciler.testing.hms.mariadb import MariaDBError
from reconciler.testing.hms.server import MetastoreError, start_metastore


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m reconciler.testing.hms",
        description="Hive Metastore 2.3 (pyspark's jars) on a private MariaDB, on loopback.",
    )
    p.add_argument("--port", type=int, default=9083, help="thrift port; 0 picks a free one")
    p.add_argument("--state", type=Path, default=Path(".hms"), help="MariaDB datadir, conf, logs")
    p.add_argument("--warehouse", default=None, help="warehouse URI (default: STATE/warehouse)")
    p.add_argument("--mariadb-port", type=int, default=0, help="MariaDB TCP port; 0 = free")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the port")
    p.add_argument(
        "--no-notifications",
        action="store_true",
        help="do not write the notification log (it needs hive-hcatalog-server-extensions)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        hms = start_metastore(
            args.state,
            args.port,
            args.warehouse,
            args.mariadb_port,
            args.timeout,
            notifications=not args.no_notifications,
        )
    except (MetastoreError, MariaDBError) as exc:
        print(f"hms: {exc}", file=sys.stderr)
        return 1
    with hms:
        print(hms.uri, flush=True)
        print(
            f"hms: warehouse {hms.warehouse}, state {hms.state}, "
            f"started in {hms.started_seconds:.1f} s, "
            f"notification log {'on' if hms.notifications else 'off'}",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(1.0):
            if hms._hms.poll() is not None:
                print("hms: metastore exited; see metastore.log", file=sys.stderr)
                return 1
    return 0
