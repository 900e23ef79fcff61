"""Reliability campaign (issue 14.7): kills at PVE request boundaries, fault mixes, property-based
convergence, a secret scan and the bad-input corpus, printed as one table; exit 1 if one fails.

    .venv/bin/python bench/reliability.py --short    # CI: bounded count and time
    .venv/bin/python bench/reliability.py --full     # every request boundary, 12 fault mixes
    .venv/bin/python bench/reliability.py --short --seed 1234   # replay a fault stream
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import random
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reconciler.cli import main as cli_main  # noqa: E402
from reconciler.testing.pvesim import Faults, PveSim  # noqa: E402
from tests.e2e.conftest import Workspace, make_workspace  # noqa: E402
from tests.e2e.test_cli_crash_faults import SEED, _lxc  # noqa: E402

TABLES = 3  # the example lake's tables
CATALOG_PASSWORD_ENV = "CATALOG_PASSWORD"
GIT_TOKEN_ENV = "GITEA_TOKEN"


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    scenario: str
    tried: str
    count: int
    outcomes: str
    converged: bool
    figures: str


@dataclass
class Secrets:
    """The secrets configured in the run and everything collected to scan for them."""

    values: dict[str, str]
    texts: list[tuple[str, str]] = field(default_factory=list)  # (where, text)
    argv_samples: int = 0
    canaries: int = 0  # environments read that hold the secrets: the scan can see them

    def add(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def add_tree(self, root: Path) -> None:
        """Every file (state, logs, history, catalog) as bytes, and history rows one by one."""
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            self.add(str(path), path.read_bytes().decode("utf-8", "replace"))
            if path.suffix == ".db" or path.name.endswith(".sqlite"):
                self._add_rows(path)

    def _add_rows(self, path: Path) -> None:
        with contextlib.closing(sqlite3.connect(path)) as db:
            try:
                names = [
                    r[0] for r in db.execute("select name from sqlite_master where type='table'")
                ]
            except sqlite3.DatabaseError:
                return
            for name in names:
                for row in db.execute(f'select * from "{name}"'):
                    self.add(f"{path}:{name}", repr(row))

    def add_argv(self, pid: int) -> None:
        """The argv of `pid` and all its descendants (what `ps` shows)."""
        for child in [pid, *_descendants(pid)]:
            with contextlib.suppress(OSError):
                argv = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
                self.add(f"argv of pid {child}", argv.decode("utf-8", "replace"))
                self.argv_samples += 1
        with contextlib.suppress(OSError):  # the canary: the process really had the secrets
            environ = Path(f"/proc/{pid}/environ").read_bytes().decode("utf-8", "replace")
            self.canaries += all(value in environ for value in self.values.values())

    def hits(self) -> list[str]:
        return [
            f"{name} in {where}"
            for where, text in self.texts
            for name, value in self.values.items()
            if value in text
        ]


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
    found, todo = [], [pid]
    while todo:
        cur = todo.pop()
        kids = [p for p, pp in parents.items() if pp == cur]
        found.extend(kids)
        todo.extend(kids)
    return found


@dataclass
class Lake:
    """One from-scratch workspace of the example lake (its own state dir and SQLite catalog)."""

    ws: Workspace
    env: dict[str, str]
    scan: Secrets

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            self.ws.argv(*args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.scan.add(f"stdout of {' '.join(args)}", done.stdout)
        self.scan.add(f"stderr of {' '.join(args)}", done.stderr)
        if "Traceback" in done.stderr:
            raise RuntimeError(f"traceback from {' '.join(args)}:\n{done.stderr}")
        return done

    def plan_changes(self) -> list[dict[str, Any]]:
        done = self.run("plan", "--output", "json")
        doc: dict[str, Any] = json.loads(done.stdout)
        return list(doc["changes"])

    def converge(self, attempts: int) -> tuple[int, int]:
        """`apply --yes` until one exits 0 with nothing left; (applies run, last exit code)."""
        code = -1
        for n in range(1, attempts + 1):
            done = self.run("apply", "--yes")
            code = done.returncode
            if code == 0 and ("No changes." in done.stdout or "Apply complete!" in done.stdout):
                return n, code
        return attempts, code


def make_lake(tmp: Path, sim: PveSim, scan: Secrets) -> Lake:
    root = Path(tempfile.mkdtemp(dir=tmp))
    state = root / "state"
    extra = f"""catalogs:
  lake:
    type: sql
    uri: sqlite:///{state}/catalog.db
    warehouse: file://{state}/warehouse
    s3.secret-access-key_env: {CATALOG_PASSWORD_ENV}
"""
    ws = make_workspace(root, sim, extra=extra)
    for kind in ("tables", "policies"):
        shutil.copytree(ROOT / "specs" / kind, ws.specs / kind)
    env = {
        **ws.env(),
        CATALOG_PASSWORD_ENV: scan.values["catalog password"],
        GIT_TOKEN_ENV: scan.values["git token"],
    }
    return Lake(ws, env, scan)


def lake_problems(lake: Lake) -> dict[str, int]:
    """After convergence: duplicate CTs, stuck locks, tables left to change, lines left."""
    sim = lake.ws.sim
    sim.set_faults(Faults())
    # a create counts once its task ended OK (a failed create task made nothing)
    creates = Counter(
        str(t["id"])
        for t in sim.state()["tasks"]
        if t.get("type") == "vzcreate" and t.get("exitstatus") == "OK"
    )
    cts = _lxc(sim)
    names = Counter(str(c["name"]) for c in cts.values())
    locks = sum(1 for v in cts if "lock" in sim.api().nodes("pve").lxc(v).config.get())
    changes = lake.plan_changes()
    return {
        "duplicates": sum(n - 1 for n in creates.values() if n > 1)
        + sum(n - 1 for n in names.values() if n > 1),
        "locks": locks,
        "half_tables": sum(1 for c in changes if c["address"].startswith("table/")),
        "left": len(changes),
        "wrong_cts": int({v: c["name"] for v, c in cts.items()} != SEED),
    }


def request_count(tmp: Path, sim: PveSim, scan: Secrets) -> int:
    """PVE requests of a from-scratch apply of the example lake (the kill boundaries)."""
    sim.reset()
    lake = make_lake(tmp, sim, scan)
    lake.run("apply", "--yes")
    return len(sim.requests())


def kill_once(tmp: Path, sim: PveSim, scan: Secrets, k: int) -> dict[str, Any] | None:
    """SIGKILL a from-scratch apply when it sends its (k+1)-th PVE request, then converge.
    For even k that request is cut unserved; for odd k PVE serves it after the client died (it
    was on the wire). None when the apply finished before reaching request k+1."""
    sim.reset()
    lake = make_lake(tmp, sim, scan)
    assert sim.core is not None
    gate = sim.core.gate
    gate.close_after(k)
    proc = subprocess.Popen(
        lake.ws.argv("apply", "--yes"),
        env=lake.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    held = False
    try:
        while proc.poll() is None:
            if gate.wait_held(1, timeout=0.05):
                held = True
                scan.add_argv(proc.pid)
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        out, _ = proc.communicate(timeout=60)
        gate.release(drop=k % 2 == 0)
        scan.add(f"output of the apply killed at {k}", out)
    if not held:
        return None
    present = len(_lxc(sim))
    applies, code = lake.converge(4)
    problems = lake_problems(lake)
    scan.add_tree(lake.ws.root)
    return {"k": k, "applies": applies, "code": code, "present": present, **problems}


def scenario_kills(tmp: Path, sim: PveSim, scan: Secrets, full: bool) -> Row:
    total = request_count(tmp, sim, scan)
    # short: one boundary served after the kill (odd k), one cut unserved (even k)
    ks = list(range(total)) if full else sorted({total // 3 | 1, (2 * total) // 3})
    results = [r for r in (kill_once(tmp, sim, scan, k) for k in ks) if r is not None]
    bad = [r for r in results if r["left"] or r["duplicates"] or r["locks"] or r["wrong_cts"]]
    applies = Counter(r["applies"] for r in results)
    return Row(
        "kill -9 at PVE request k",
        f"k in {ks[0]}..{ks[-1]} of {total}"
        if full
        else f"k = {', '.join(map(str, ks))} of {total}",
        len(results),
        f"converged after 1 apply: {applies[1]}, 2: {applies[2]}, more: "
        f"{sum(n for a, n in applies.items() if a > 2)}, not: {len(bad)}",
        not bad and bool(results),
        f"dup CTs {sum(r['duplicates'] for r in results)}, stuck locks "
        f"{sum(r['locks'] for r in results)}, half-evolved tables "
        f"{sum(r['half_tables'] for r in results)}, plan lines left "
        f"{sum(r['left'] for r in results)}; CTs present at the kill: "
        f"{', '.join(str(r['present']) for r in results)}",
    )


def fault_mix(rng: random.Random) -> Faults:
    return Faults(
        error_rate=rng.uniform(0.05, 0.2),
        status=rng.choice((500, 595, 596)),
        lock_timeout_rate=rng.uniform(0.0, 0.1),
        task_failure_rate=rng.uniform(0.0, 0.1),
        lost_answer_rate=rng.uniform(0.05, 0.2),
        lost_answer_mode=rng.choice(("drop", "596")),
        seed=rng.getrandbits(32),
    )


def scenario_faults(tmp: Path, sim: PveSim, scan: Secrets, mixes: int, seed: int) -> Row:
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    failed_requests = lost = dups = left = 0
    ok = True
    for _ in range(mixes):
        sim.reset()
        lake = make_lake(tmp, sim, scan)
        sim.set_faults(fault_mix(rng))
        applies, code = lake.converge(8)
        records = sim.requests()
        failed_requests += sum(1 for r in records if r.status >= 500)
        lost += sum(1 for r in records if r.answer_lost)
        problems = lake_problems(lake)
        scan.add_tree(lake.ws.root)
        dups += problems["duplicates"]
        left += problems["left"]
        good = code == 0 and not any(problems.values())
        ok = ok and good
        outcomes[f"{applies} applies" if good else "NOT converged"] += 1
    return Row(
        "fault mixes (500/595/596, lock timeouts, task failures, lost answers)",
        f"seed {seed}",
        mixes,
        ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())),
        ok,
        f"faulted answers {failed_requests}, lost answers {lost}, dup CTs {dups}, "
        f"plan lines left {left}",
    )


def scenario_properties(sim: PveSim, examples: int) -> Row:
    from tests.e2e.test_convergence_properties import check_convergence

    started = time.monotonic()
    try:
        counts, ok, note = check_convergence(sim, max_examples=examples), True, "all held"
    except Exception as exc:  # the falsifying example is printed by hypothesis
        counts, ok, note = {"examples": 0, "applies": 0}, False, f"FALSIFIED: {exc}"[:200]
    return Row(
        "hypothesis: random specs + edits",
        "plan empty after apply; plan JSON same bytes",
        counts["examples"],
        note,
        ok,
        f"{counts['applies']} applies in {time.monotonic() - started:.0f}s",
    )


@contextlib.contextmanager
def _quiet() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        yield buf


def scenario_bad_inputs(tmp: Path) -> Row:
    from tests.unit.sources import test_bad_input_corpus as corpus

    rejected = 0
    for case in corpus.CORPUS:
        root = Path(tempfile.mkdtemp(dir=tmp))
        for name, (relative, base) in corpus.BASES.items():
            data = copy.deepcopy(base)
            edits = {**case.get("also", {}).get(name, {})}
            if name == case["base"]:
                edits.update(case["set"])
            for dotted, value in edits.items():
                corpus._set(data, dotted, value)
            corpus._write(root, relative, data)
        with _quiet() as out:
            code = cli_main(["--config", str(root / "reconciler.yaml"), "validate"])
        relative = corpus.BASES[case["base"]][0]
        located = re.compile(rf"{re.escape(relative)}:[0-9]+: {re.escape(case['field'])}[:\[.]")
        text = out.getvalue()
        if code == 1 and located.search(text) and "Traceback" not in text:
            rejected += 1
    tried = len(corpus.CORPUS)
    return Row(
        "bad inputs (tests/unit/sources corpus)",
        "validate: exit 1, file:line: field, no traceback",
        tried,
        f"rejected {rejected}, accepted {tried - rejected}",
        rejected == tried,
        f"{tried} cases, {rejected} rejected",
    )


def scenario_secrets(scan: Secrets) -> Row:
    hits = scan.hits()
    seen = scan.canaries > 0  # else the scan proves nothing: no process held the secrets
    return Row(
        "secret scan (outputs, files, history rows, argv)",
        ", ".join(scan.values),
        len(scan.texts),
        f"hits {len(hits)}" + (f": {'; '.join(hits[:3])}" if hits else ""),
        not hits and seen,
        f"{len(scan.texts)} places, {scan.argv_samples} argv samples, "
        f"{scan.canaries} environments holding the secrets",
    )


def render(rows: list[Row]) -> str:
    head = ("scenario", "tried", "count", "outcomes", "converged", "figures")
    cells = [head, *((r.scenario, r.tried, str(r.count), r.outcomes,
                      "yes" if r.converged else "NO", r.figures) for r in rows)]  # fmt: skip
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = [" | ".join(c[i].ljust(widths[i]) for i in range(len(head))).rstrip() for c in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--short", action="store_true", help="bounded count and time (default)")
    mode.add_argument("--full", action="store_true", help="every kill boundary, 12 fault mixes")
    ap.add_argument("--seed", type=int, help="fault stream seed (default: fresh, printed)")
    args = ap.parse_args(argv)
    full = bool(args.full)
    seed = args.seed if args.seed is not None else secrets.randbits(32)
    print(f"mode {'full' if full else 'short'}; fault seed {seed} (replay: --seed {seed})")
    started = time.monotonic()
    values = {
        "PVE token": secrets.token_hex(16),
        "git token": secrets.token_hex(16),
        "catalog password": secrets.token_hex(16),
    }
    scan = Secrets(values)
    tmp = Path(tempfile.mkdtemp(prefix="reconciler-reliability-"))
    sim = PveSim(token=f"root@pam!reconciler={values['PVE token']}")
    sim.start()
    rows: list[Row] = []
    try:
        rows.append(scenario_kills(tmp, sim, scan, full))
        rows.append(scenario_faults(tmp, sim, scan, 12 if full else 2, seed))
        rows.append(scenario_properties(sim, 25 if full else 4))
        rows.append(scenario_bad_inputs(tmp))
        rows.append(scenario_secrets(scan))
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(render(rows))
    failed = [r.scenario for r in rows if not r.converged]
    took = time.monotonic() - started
    print(f"{len(rows) - len(failed)}/{len(rows)} scenarios passed in {took:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
