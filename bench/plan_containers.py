"""Benchmark: plan time and API calls for N owned, converged CTs over a slow PVE API, with
serial vs parallel config reads. Prints figures; asserts nothing about speed.

The simulator runs as its own process (as users run it), seeded with N CTs whose config is
what the reconciler itself created for one spec, and adds a fixed latency to every request.
The engine plans in-process (`make_full_plan` with `build_deps`), as the CLI does.

    .venv/bin/python bench/plan_containers.py [--count 500] [--latency-ms 5] [--parallel 1,8,16]
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import requests

from reconciler.daemon.logs import configure_logging
from reconciler.engine import RunOptions, apply_plan, load, make_full_plan
from reconciler.settings import ProxmoxSettings, Settings
from reconciler.testing.pvesim import PveSim
from reconciler.wiring import build_deps

ROOT = Path(__file__).resolve().parents[1]
TOKEN_USER, TOKEN_NAME, TOKEN_SECRET = "root@pam", "bench", "secret"
FIRST_VMID = 1000

SPEC = """apiVersion: reconciler/v1
kind: Container
metadata:
  name: ct-{i}
  labels: {{layer: bench}}
spec:
  vmid: {vmid}
  hostname: ct-{i}
  template: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
  cores: 1
  memory: 512MiB
  swap: 512MiB
  rootfs: {{storage: local-lvm, size: 8GiB}}
  network:
    - {{name: eth0, bridge: vmbr0, ip: {ip}/16, gateway: 10.20.0.1}}
  features: {{nesting: true}}
  onBoot: true
  tags: [bench]
  state: running
"""


@dataclass(frozen=True)
class Run:
    parallel: int
    seconds: float
    cpu: float  # this process (engine, TLS, JSON) while planning; the simulator is apart
    calls: Counter[str]
    changes: int


def _ip(i: int) -> str:
    return f"10.20.{1 + i // 250}.{1 + i % 250}"


def write_specs(root: Path, count: int) -> Path:
    specs = root / "specs"
    (specs / "containers").mkdir(parents=True)
    for i in range(count):
        text = SPEC.format(i=i, vmid=FIRST_VMID + i, ip=_ip(i))
        (specs / "containers" / f"ct-{i}.yaml").write_text(text)
    return specs


def settings_for(
    specs: Path, state: Path, host: str, port: int, ca: str, parallel: int
) -> Settings:
    proxmox = ProxmoxSettings(
        host=host,
        port=port,
        user=TOKEN_USER,
        token_name=TOKEN_NAME,
        token_secret_env="PVE_TOKEN_SECRET",
        verify_ssl=ca,
        parallel_reads=parallel,
    )
    return Settings(config_file=None, specs=specs, state_dir=state, proxmox=proxmox)


def template_guest(root: Path) -> dict[str, Any]:
    """Let the reconciler create CT 0 in a throw-away simulator; its state is the template."""
    one = root / "one" / "containers"
    one.mkdir(parents=True)
    (one / "ct-0.yaml").write_text(SPEC.format(i=0, vmid=FIRST_VMID, ip=_ip(0)))
    with PveSim(token=f"{TOKEN_USER}!{TOKEN_NAME}={TOKEN_SECRET}") as sim:
        settings = settings_for(one.parent, root / "state-one", sim.host, sim.port, sim.ca_file, 1)
        desired, error = load(one.parent)
        assert desired is not None, error
        deps = build_deps(settings)
        planned = make_full_plan(settings, desired, RunOptions(apply=True), deps)
        report = apply_plan(settings, planned, RunOptions(apply=True), deps)
        assert all(o.status.value == "applied" for o in report.outcomes), report.outcomes
        guests = sim.state()["guests"]
    assert len(guests) == 1
    guest: dict[str, Any] = guests[0]
    return guest


def seed_doc(template: dict[str, Any], count: int) -> dict[str, Any]:
    """N guests from the template: vmid, hostname, disk volume and address per CT."""
    config = template["config"]
    guests = []
    for i in range(count):
        vmid = FIRST_VMID + i
        conf = copy.deepcopy(config)
        conf["hostname"] = f"ct-{i}"
        conf["rootfs"] = conf["rootfs"].replace(f"vm-{FIRST_VMID}-", f"vm-{vmid}-")
        conf["net0"] = conf["net0"].replace(f"ip={_ip(0)}/", f"ip={_ip(i)}/")
        conf.pop("digest", None)
        guests.append({"vmid": vmid, "node": template["node"], "config": conf, "status": "running"})
    return {"guests": guests}


def start_simulator(
    root: Path, seed: Path, latency_ms: float
) -> tuple[subprocess.Popen[str], str, str]:
    ca = root / "ca.pem"
    argv = [
        sys.executable,
        "-m",
        "reconciler.testing.pvesim",
        "--port",
        "0",
        "--seed",
        str(seed),
        "--cert-out",
        str(ca),
        "--token",
        f"{TOKEN_USER}!{TOKEN_NAME}={TOKEN_SECRET}",
        "--fault-latency-ms",
        str(latency_ms),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("https://"):
        proc.terminate()
        raise RuntimeError(f"simulator did not start: {url!r}")
    return proc, url, str(ca)


def plan_once(settings: Settings, url: str, ca: str) -> Run:
    desired, error = load(settings.specs)
    assert desired is not None, error
    requests.delete(f"{url}/_sim/requests", verify=ca, timeout=30)
    deps = build_deps(settings)  # a fresh client each time: connection set-up is part of a plan
    started, cpu = time.perf_counter(), time.process_time()
    planned = make_full_plan(settings, desired, RunOptions(), deps)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    log = requests.get(f"{url}/_sim/requests", verify=ca, timeout=30).json()["data"]
    calls = Counter(
        "GET /cluster/resources"
        if r["path"].startswith("/cluster/resources")
        else f"{r['method']} /nodes/*/lxc/*/{r['path'].rsplit('/', 1)[-1]}"
        for r in log
    )
    return Run(settings.proxmox.parallel_reads, seconds, cpu, calls, len(planned.plan.changes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500, help="owned CTs and specs")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="added to every request")
    parser.add_argument("--parallel", default="1,8,16", help="parallel_reads values to compare")
    parser.add_argument("--repeat", type=int, default=3, help="plans per setting (median shown)")
    args = parser.parse_args()
    levels = [int(x) for x in args.parallel.split(",")]
    os.environ["PVE_TOKEN_SECRET"] = TOKEN_SECRET
    configure_logging(json_lines=None, level=logging.WARNING)  # per-call debug logs cost time too
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        root = Path(tmp)
        specs = write_specs(root, args.count)
        seed = root / "seed.json"
        seed.write_text(json.dumps(seed_doc(template_guest(root), args.count)))
        proc, url, ca = start_simulator(root, seed, args.latency_ms)
        try:
            host, port = url.removeprefix("https://").rsplit(":", 1)
            base = settings_for(specs, root / "state", host, int(port), ca, 1)
            results: dict[int, list[Run]] = {}
            for _ in range(args.repeat):  # interleaved, so drift in machine load hits all alike
                for level in levels:
                    proxmox = replace(base.proxmox, parallel_reads=level)
                    results.setdefault(level, []).append(
                        plan_once(replace(base, proxmox=proxmox), url, ca)
                    )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    report(args, results)


def report(args: argparse.Namespace, results: dict[int, list[Run]]) -> None:
    print(
        f"{args.count} owned CTs, {args.count} specs, {args.latency_ms:g} ms added per request, "
        f"median of {args.repeat} plans (engine in-process, simulator in its own process)"
    )
    first = next(iter(results.values()))[0]
    print(
        "API calls per plan: "
        + ", ".join(f"{n} x {k}" for k, n in sorted(first.calls.items()))
        + f" = {sum(first.calls.values())} (N + {sum(first.calls.values()) - args.count})"
    )
    serial = statistics.median(r.seconds for r in results[min(results)])
    print(
        f"\n{'parallel_reads':>14} | {'plan s':>7} | {'cpu s':>6} | {'calls':>5} | "
        f"{'changes':>7} | {'ms/CT':>6} | speed-up vs {min(results)}"
    )
    print(f"{'-' * 14}-+-{'-' * 7}-+-{'-' * 6}-+-{'-' * 5}-+-{'-' * 7}-+-{'-' * 6}-+-{'-' * 15}")
    for level, runs in results.items():
        seconds = statistics.median(r.seconds for r in runs)
        calls = {sum(r.calls.values()) for r in runs}
        changes = {r.changes for r in runs}
        cpu = statistics.median(r.cpu for r in runs)
        print(
            f"{level:>14} | {seconds:7.2f} | {cpu:6.2f} | {'/'.join(map(str, sorted(calls))):>5} | "
            f"{'/'.join(map(str, sorted(changes))):>7} | {1000 * seconds / args.count:6.2f} | "
            f"{serial / seconds:.2f}x"
        )
    floor = args.count * args.latency_ms / 1000
    print(
        f"\nlatency floor for serial reads: {floor:.2f} s ({args.count} x {args.latency_ms:g} ms); "
        f"{os.cpu_count()} CPUs shared by this process and the simulator"
    )


if __name__ == "__main__":
    main()
