"""Provisioning over SSH end to end: `reconcile` (a real subprocess) against the Proxmox
simulator, and one real OpenSSH server per CT on a 127.0.3.x address; the steps log in as a
real `datalake` user (root cannot log in)."""

from __future__ import annotations

import json
import pwd
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.testing.pvesim import PveSim
from tests.e2e.conftest import Workspace, make_workspace
from tests.integration.ssh.sshd import (
    SSHD,
    USER,
    NoLoginUser,
    Sshd,
    ensure_user,
    free_port,
    keygen,
    make_sshd,
    owned_dir,
    user_dir,
)

pytestmark = pytest.mark.skipif(not Path(SSHD).exists(), reason="openssh-server is not installed")

SECRET = "s3cr3t-value-never-shown"
HOSTS = {"store": "127.0.3.1", "meta": "127.0.3.2", "app": "127.0.3.3"}
VMIDS = {"store": 301, "meta": 302, "app": 303}


@dataclass
class Lake:
    ws: Workspace
    servers: dict[str, Sshd]
    out: Path  # where the test scripts leave their markers (a directory of datalake's)
    port: int
    own_key: str

    def spec(self, name: str, extra: str = "", depends: str = "[]") -> None:
        """A Container spec `name` on its loopback address (written to the specs tree)."""
        (self.ws.specs / "containers" / f"{name}.yaml").write_text(
            f"""apiVersion: reconciler/v1
kind: Container
metadata: {{name: {name}}}
spec:
  defaults: [lxc]
  vmid: {VMIDS[name]}
  memory: 256MiB
  network:
    - {{name: eth0, bridge: vmbr0, ip: {HOSTS[name]}/24}}
  dependsOn: {depends}
{extra}"""
        )

    def script(self, name: str, body: str) -> None:
        path = self.ws.specs / "scripts" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text("#!/bin/sh\nset -e\n" + body)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**self.ws.env(), "LAKE_SECRET": SECRET}
        return subprocess.run(
            self.ws.argv(*args), env=env, capture_output=True, text=True, timeout=180, check=False
        )

    def plan(self) -> dict[str, list[tuple[str, str]]]:
        """action -> [(address, reason)] of the JSON plan."""
        done = self.run("plan", "--output", "json")
        assert done.returncode in (0, 2), done.stderr
        lines: dict[str, list[tuple[str, str]]] = {}
        for change in json.loads(done.stdout)["changes"]:
            lines.setdefault(change["action"], []).append((change["address"], change["reason"]))
        return lines

    def apply_json(self) -> tuple[int, dict[tuple[str, str], tuple[str, str]]]:
        """Exit code, (address, action) -> (status, message) of `apply --output json`."""
        done = self.run("apply", "--yes", "--output", "json")
        doc = json.loads(done.stdout)
        outcomes = {
            (o["address"], o["action"]): (o["status"], o["message"]) for o in doc["outcomes"]
        }
        return done.returncode, outcomes

    def markers(self, name: str) -> list[str]:
        path = self.out / f"{name}.log"
        return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def lake(tmp_path: Path, pvesim: PveSim) -> Iterator[Lake]:
    try:
        user = ensure_user()
    except NoLoginUser as exc:
        pytest.skip(str(exc))
    home = user_dir(user)
    keys = tmp_path / "keys"
    keys.mkdir()
    own_key = keygen(keys / "id_ed25519")
    port = free_port()
    servers: dict[str, Sshd] = {}
    try:
        for name, host in HOSTS.items():
            servers[name] = make_sshd(
                tmp_path / "sshd" / name, host, port, own_key, home / "keys" / name, user
            )
        (keys / "known_hosts").write_text(
            "".join(s.known_hosts_line + "\n" for s in servers.values())
        )
        extra = f"""provision:
  key_file: keys/id_ed25519
  known_hosts_file: keys/known_hosts
  user: {USER}
  port: {port}
  connect_timeout: 5
"""
        ws = make_workspace(tmp_path, pvesim, extra=extra)
        for spec in (ws.specs / "containers").glob("*.yaml"):
            spec.unlink()  # only this test's CTs
        out = owned_dir(home / "out", user)
        yield Lake(ws, servers, out, port, own_key)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(home, ignore_errors=True)


def _steps(lake: Lake, name: str, script: str, extra: str = "") -> str:
    return f"""  provision:
    - script: ../scripts/{script}
      args: [{lake.out}, {name}]
      env: {{SECRET_env: LAKE_SECRET}}
{extra}"""


MARKER = 'echo "$(id -un) $2 secret=$([ "$SECRET" = "{secret}" ] && echo ok)" >> "$1/$2.log"\n'


def test_steps_run_after_create_and_only_a_changed_script_runs_again(lake: Lake) -> None:
    lake.script("store.sh", MARKER.format(secret=SECRET) + "echo stored\nid -un\n")
    lake.script("meta.sh", MARKER.format(secret=SECRET) + "echo meta v1\n")
    lake.spec("store", _steps(lake, "store", "store.sh"))
    lake.spec("meta", _steps(lake, "meta", "meta.sh"), depends="[store]")

    planned = lake.plan()
    assert sorted(a for a, _ in planned["provision"]) == ["container/meta", "container/store"]
    assert all(r.startswith("new container") for _, r in planned["provision"])
    done = lake.run("apply", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert USER == "datalake"
    assert lake.markers("store") == ["datalake store secret=ok"]
    assert lake.markers("meta") == ["datalake meta secret=ok"]
    owner = pwd.getpwuid((lake.out / "store.log").stat().st_uid).pw_name
    assert owner == "datalake"  # written by the step, as datalake
    assert SECRET not in done.stdout + done.stderr
    state = lake.ws.root / "state" / "provision"
    record = json.loads((state / "store.json").read_text())
    assert record["vmid"] == VMIDS["store"] and record["steps"][0]["script"] == "scripts/store.sh"
    logs = list((state / "store").glob("*-01-store.sh.log"))
    assert len(logs) == 1 and logs[0].read_text() == "stored\ndatalake\n"

    again = lake.run("plan")
    assert again.returncode == 0 and again.stdout.startswith("No changes."), again.stdout

    lake.script("meta.sh", MARKER.format(secret=SECRET) + "echo meta v2\n")
    planned = lake.plan()
    assert planned == {"provision": [("container/meta", "scripts/meta.sh changed")]}
    done = lake.run("apply", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(lake.markers("meta")) == 2
    assert len(lake.markers("store")) == 1  # the other CT's steps did not run again
    assert lake.run("plan").returncode == 0


def test_a_changed_or_unknown_host_key_refuses_the_step(lake: Lake) -> None:
    lake.script("store.sh", MARKER.format(secret=SECRET))
    lake.spec("store", _steps(lake, "store", "store.sh"))
    assert lake.run("apply", "--yes").returncode == 0
    assert len(lake.markers("store")) == 1

    lake.servers["store"].new_host_key()  # a rebuilt CT, or someone in the middle
    lake.script("store.sh", MARKER.format(secret=SECRET) + "echo v2\n")
    done = lake.run("apply", "--yes")
    assert done.returncode == 1, done.stdout
    assert "host key changed" in done.stdout and "refused" in done.stdout
    assert len(lake.markers("store")) == 1  # nothing ran on the unverified host

    known = lake.ws.root / "keys" / "known_hosts"
    known.write_text(lake.servers["meta"].known_hosts_line + "\n")  # store is not pinned at all
    done = lake.run("apply", "--yes")
    assert done.returncode == 1, done.stdout
    assert "unknown host key" in done.stdout
    assert len(lake.markers("store")) == 1

    known.write_text(lake.servers["store"].known_hosts_line + "\n")  # the operator pins it
    assert lake.run("apply", "--yes").returncode == 0
    assert len(lake.markers("store")) == 2


def test_a_failing_step_fails_its_container_and_holds_the_dependents(lake: Lake) -> None:
    lake.script("store.sh", 'echo "disk full" >&2\nexit 3\n')
    lake.script("meta.sh", MARKER.format(secret=SECRET))
    lake.spec("store", _steps(lake, "store", "store.sh"))
    lake.spec("meta", _steps(lake, "meta", "meta.sh"), depends="[store]")
    done = lake.run("apply", "--yes")
    assert done.returncode == 1
    assert "step 1 scripts/store.sh exited 3: disk full" in done.stdout
    assert lake.markers("meta") == []
    code, outcomes = lake.apply_json()  # the same again, read from the JSON outcomes
    assert code == 1
    held = "skipped: dependency container/store did not apply"
    assert outcomes[("container/meta", "create")] == ("skipped", held)
    assert outcomes[("container/meta", "provision")] == ("skipped", held)
    assert lake.markers("meta") == []
    vmids = {int(c["vmid"]) for c in lake.ws.sim.api().nodes("pve").lxc.get()}
    assert VMIDS["store"] in vmids and VMIDS["meta"] not in vmids  # meta waits, not created
    # Nothing recorded: the next plan provisions store again, and meta still waits on it.
    planned = lake.plan()
    assert ("container/store", "not provisioned yet: run 1 step(s)") in planned["provision"]

    lake.script("store.sh", "echo fixed\n")
    done = lake.run("apply", "--yes")
    assert done.returncode == 0, done.stdout
    assert lake.markers("meta") == ["datalake meta secret=ok"]


def test_an_unset_env_reference_fails_before_any_step_runs(lake: Lake) -> None:
    lake.script("store.sh", MARKER.format(secret=SECRET))
    lake.spec(
        "store",
        f"""  provision:
    - script: ../scripts/store.sh
      args: [{lake.out}, store]
      env: {{SECRET_env: NOT_SET_ANYWHERE}}
""",
    )
    done = lake.run("apply", "--yes")
    assert done.returncode == 1
    assert "env var NOT_SET_ANYWHERE (for SECRET) is not set" in done.stdout
    assert lake.markers("store") == []


def test_ssh_public_keys_are_kept_in_sync_and_the_reconciler_keeps_its_access(
    lake: Lake, tmp_path: Path
) -> None:
    first = keygen(tmp_path / "keys" / "alice")
    second = keygen(tmp_path / "keys" / "bob")
    lake.spec("store", f"  sshPublicKeys: [{json.dumps(first)}]\n")
    config = lake.ws.config
    target = lake.servers["store"].authorized_keys
    config.write_text(config.read_text() + f"  authorized_keys_file: {target}\n")
    planned = lake.plan()
    assert planned["provision"] == [
        ("container/store", "new container: run 0 step(s); write sshPublicKeys")
    ]
    assert lake.run("apply", "--yes").returncode == 0
    written = target.read_text()
    assert first.split()[1] in written and lake.own_key.split()[1] in written

    lake.spec("store", f"  sshPublicKeys: [{json.dumps(second)}]\n")
    assert lake.plan() == {"provision": [("container/store", "sshPublicKeys changed")]}
    done = lake.run("apply", "--yes")
    assert done.returncode == 0, done.stdout
    written = target.read_text()
    assert second.split()[1] in written and first.split()[1] not in written
    assert lake.own_key.split()[1] in written
    assert lake.run("plan").returncode == 0  # and it can still log in to check nothing is due


class LateListener:
    """A TCP listener on `host:port` that starts accepting after `delay` seconds."""

    def __init__(self, host: str, port: int, delay: float) -> None:
        self.host, self.port, self.delay = host, port, delay
        self.started_at: float | None = None
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> LateListener:
        self._thread.start()
        return self

    def _serve(self) -> None:
        if self._stop.wait(self.delay):
            return
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(16)
        sock.settimeout(0.2)
        self._sock = sock
        self.started_at = time.time()
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
                conn.close()
            except OSError:
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()


def test_dependents_start_only_once_readiness_passes_and_drift_reports_unready(
    lake: Lake,
) -> None:
    port = free_port(HOSTS["store"])
    lake.script("meta.sh", 'date +%s.%N >> "$1/$2.log"\n')
    lake.spec("store", f"  readiness: {{tcp: {port}, timeout: 60s, interval: 1s}}\n"
              + _steps(lake, "store", "noop.sh"))  # fmt: skip
    lake.script("noop.sh", "true\n")
    lake.spec("meta", _steps(lake, "meta", "meta.sh"), depends="[store]")
    planned = lake.plan()
    assert planned["await"] == [("container/store", f"wait for tcp {port} (timeout 60s)")]

    listener = LateListener(HOSTS["store"], port, delay=4.0).start()
    try:
        done = lake.run("apply", "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"container/store (await): waiting for tcp {port}..." in done.stdout
        assert "container/store (await): applied" in done.stdout
        assert listener.started_at is not None
        meta_ran = float(lake.markers("meta")[0])
        assert meta_ran > listener.started_at  # meta was created and provisioned after it
        clean = lake.run("drift", "--output", "json")
        assert json.loads(clean.stdout)["drift"] == [], clean.stdout
    finally:
        listener.stop()

    drift = lake.run("drift", "--output", "json")
    entries = json.loads(drift.stdout)["drift"]
    assert [(e["address"], e["action"]) for e in entries] == [("container/store", "unready")]
    assert f"tcp {port} fails" in entries[0]["reason"]


def test_a_probe_that_never_passes_holds_the_dependents(lake: Lake) -> None:
    port = free_port(HOSTS["store"])
    lake.spec("store", f"  readiness: {{tcp: {port}, timeout: 3s, interval: 1s}}\n")
    lake.script("meta.sh", MARKER.format(secret=SECRET))
    lake.spec("meta", _steps(lake, "meta", "meta.sh"), depends="[store]")
    done = lake.run("apply", "--yes")
    assert done.returncode == 1
    assert "not ready after 3s" in done.stdout
    code, outcomes = lake.apply_json()
    assert code == 1
    assert outcomes[("container/store", "await")][0] == "failed"
    held = "skipped: dependency container/store did not apply"
    assert outcomes[("container/meta", "create")] == ("skipped", held)
    assert lake.markers("meta") == []


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (PID 1 of a container may not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_timed_out_step_is_killed_with_its_children(lake: Lake) -> None:
    lake.script(
        "store.sh",
        'echo $$ > "$1/script.pid"\nsleep 300 &\necho $! > "$1/child.pid"\nwait\n',
    )
    lake.spec("store", _steps(lake, "store", "store.sh", "      timeout: 2s\n"))
    started = time.monotonic()
    code, outcomes = lake.apply_json()
    assert code == 1
    status, message = outcomes[("container/store", "provision")]
    assert status == "failed"
    assert "step 1 scripts/store.sh timed out after 2s and was killed" in message, message
    assert time.monotonic() - started < 60  # not the 300 s of the step
    pids = [int((lake.out / f"{n}.pid").read_text()) for n in ("script", "child")]
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids), pids  # the script and its child are gone
    leftover = subprocess.run(
        ["pgrep", "-u", USER, "-f", "^sleep 300$"], capture_output=True, check=False
    )
    assert leftover.returncode == 1, leftover.stdout
    logs = list((lake.ws.root / "state" / "provision" / "store").glob("*-01-store.sh.log"))
    assert len(logs) == 1  # the output of a timed-out step is kept too


def test_run_as_another_user_without_a_sudo_rule_fails_the_step_clearly(lake: Lake) -> None:
    lake.script("store.sh", MARKER.format(secret=SECRET))
    lake.spec("store", _steps(lake, "store", "store.sh", "      runAs: root\n"))
    code, outcomes = lake.apply_json()
    assert code == 1
    status, message = outcomes[("container/store", "provision")]
    assert status == "failed"
    assert "step 1 scripts/store.sh exited" in message and "sudo" in message, message
    assert "(runAs root needs sudo on the CT and a NOPASSWD rule for datalake)" in message, message
    assert lake.markers("store") == []  # nothing ran, as datalake or as root
