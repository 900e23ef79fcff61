"""Benchmark the PVE simulator: start-up to first answer, and 1,000 GET /cluster/resources.

Run: .venv/bin/python bench/pvesim_resources.py   (targets: start-up < 2 s, 1,000 calls < 5 s)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proxmoxer import ProxmoxAPI

GUESTS = 200
CALLS = 1000


def _seed(path: Path) -> None:
    guests = [{"vmid": 1000 + k, "node": "pve", "status": "running" if k % 2 else "stopped",
               "config": {"hostname": f"ct{k}", "memory": 1024, "cores": 2, "tags": "bench",
                          "rootfs": f"local-lvm:vm-{1000 + k}-disk-0,size=8G"}}
              for k in range(GUESTS)]
    path.write_text(json.dumps({"guests": guests}))


def _cpu(pid: int) -> float:
    """User+system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pvesim-bench-") as tmp:
        seed, ca = Path(tmp) / "seed.json", Path(tmp) / "ca.pem"
        _seed(seed)
        cmd = [sys.executable, "-m", "reconciler.testing.pvesim", "--port", "0",
               "--seed", str(seed), "--cert-out", str(ca),
               "--token", "root@pam!bench=secret"]
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)  # noqa: S603 - fixed argv
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            api = ProxmoxAPI("127.0.0.1", port=int(url.rsplit(":", 1)[1]), user="root@pam",
                             token_name="bench", token_value="secret", verify_ssl=str(ca),
                             timeout=30)
            api.version.get()
            startup = time.perf_counter() - started
            assert len(api.cluster.resources.get(type="vm")) == GUESTS
            srv0, cli0, t0 = _cpu(proc.pid), time.process_time(), time.perf_counter()
            for _ in range(CALLS):
                api.cluster.resources.get(type="vm")
            loop = time.perf_counter() - t0
            srv_cpu, cli_cpu = _cpu(proc.pid) - srv0, time.process_time() - cli0
            # client-side tuning: requests re-reads proxy settings from os.environ per call
            api._store["session"].trust_env = False
            t1 = time.perf_counter()
            for _ in range(CALLS):
                api.cluster.resources.get(type="vm")
            tuned = time.perf_counter() - t1
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"start-up to first answer: {startup:.3f} s (target < 2 s) "
          f"{'OK' if startup < 2 else 'SLOW'}")
    print(f"{CALLS} x GET /cluster/resources?type=vm with {GUESTS} guests: {loop:.3f} s "
          f"({loop / CALLS * 1000:.2f} ms/call, target < 5 s) {'OK' if loop < 5 else 'SLOW'}")
    print(f"same with the proxmoxer session's trust_env=False: {tuned:.3f} s "
          f"({tuned / CALLS * 1000:.2f} ms/call)")
    print(f"CPU per call: server {srv_cpu / CALLS * 1000:.2f} ms, client (proxmoxer) "
          f"{cli_cpu / CALLS * 1000:.2f} ms; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    return 0 if startup < 2 and loop < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
