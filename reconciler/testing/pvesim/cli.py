"""Command line: `python -m reconciler.testing.pvesim --port 0 --state FILE ...`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .faults import Faults
from .sim import PveSim


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """CLI options."""
    ap = argparse.ArgumentParser(
        prog="python -m reconciler.testing.pvesim", description="Proxmox VE API simulator (HTTPS)"
    )
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8006)
    ap.add_argument("--state", help="persist the cluster as JSON here (survives restarts)")
    ap.add_argument("--seed", help="initial cluster JSON (ignored when --state exists)")
    ap.add_argument("--token", default="root@pam!reconciler=secret")
    ap.add_argument("--password", default="rootpw", help="root@pam password for tickets")
    ap.add_argument("--cert-out", help="write the self-signed certificate (CA) PEM here")
    ap.add_argument(
        "--compression",
        type=int,
        default=1,
        choices=(0, 1),
        help="gzip large answers for clients that accept it, as pveproxy does",
    )
    ap.add_argument("--task-seconds", type=float, default=0.0)
    ap.add_argument("--version", dest="pve_version", default="8.3", choices=("8.3", "9.0"))
    ap.add_argument("--fault-error-rate", type=float, default=0.0)
    ap.add_argument("--fault-status", type=int, default=500, choices=(500, 595, 596))
    ap.add_argument("--fault-lock-timeout-rate", type=float, default=0.0)
    ap.add_argument("--fault-task-failure-rate", type=float, default=0.0)
    ap.add_argument("--fault-latency-ms", type=float, default=0.0)
    ap.add_argument("--fault-offline-node", action="append", default=[])
    ap.add_argument("--fault-methods", default="GET,POST,PUT,DELETE")
    ap.add_argument("--fault-seed", type=int, default=0)
    ap.add_argument("--fault-lost-answer-rate", type=float, default=0.0)
    ap.add_argument("--fault-lost-answer-mode", default="drop", choices=("drop", "596"))
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run until SIGINT/SIGTERM; prints the URL once ready."""
    args = parse_args(argv)
    faults = Faults(
        error_rate=args.fault_error_rate,
        status=args.fault_status,
        lock_timeout_rate=args.fault_lock_timeout_rate,
        task_failure_rate=args.fault_task_failure_rate,
        latency_ms=args.fault_latency_ms,
        offline_nodes=tuple(args.fault_offline_node),
        seed=args.fault_seed,
        methods=tuple(m.strip().upper() for m in args.fault_methods.split(",") if m.strip()),
        lost_answer_rate=args.fault_lost_answer_rate,
        lost_answer_mode=args.fault_lost_answer_mode,
    )
    sim = PveSim(
        token=args.token,
        task_seconds=args.task_seconds,
        state_file=args.state,
        seed_file=args.seed,
        faults=faults,
        version=args.pve_version,
        password=args.password,
        host=args.host,
        port=args.port,
        cert_out=args.cert_out,
        compression=bool(args.compression),
    )
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sim.start()
    print(sim.url, flush=True)
    try:
        stopping.wait()
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
