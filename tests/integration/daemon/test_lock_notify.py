"""The shared cycle lock across real processes, and sd_notify on a real datagram socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from reconciler.daemon.lock import LockBusy, cycle_lock
from reconciler.daemon.notify import Notifier, sd_notify, watchdog_interval

HOLDER = """
import sys, time
from pathlib import Path
from reconciler.daemon.lock import cycle_lock
with cycle_lock(Path(sys.argv[1]), wait=False):
    print("held", flush=True)
    time.sleep(60)
"""


def _holder(state: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])}
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(state)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_lock_excludes_a_second_process_and_dies_with_its_holder(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    try:
        with pytest.raises(LockBusy, match=f"pid {proc.pid}"), cycle_lock(tmp_path, wait=False):
            pass
    finally:
        proc.send_signal(signal.SIGKILL)  # a killed holder must not wedge the lock
        proc.wait()
    with cycle_lock(tmp_path, wait=False) as path:
        assert path.read_text().strip() == str(os.getpid())


def test_lock_wait_blocks_until_released(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    acquired = threading.Event()

    def waiter() -> None:
        with cycle_lock(tmp_path, wait=True):
            acquired.set()

    thread = threading.Thread(target=waiter)
    try:
        thread.start()
        assert not acquired.wait(0.5)  # blocked while the other process holds it
    finally:
        proc.terminate()
        proc.wait()
    assert acquired.wait(5)
    thread.join()


def _receiver(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(5)
    return sock


def test_sd_notify_to_path_and_abstract_sockets(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    with _receiver(path) as sock:
        assert sd_notify("READY=1\nSTATUS=hello", {"NOTIFY_SOCKET": path})
        assert sock.recv(4096) == b"READY=1\nSTATUS=hello"
    name = f"reconciler-test-{os.getpid()}"
    with _receiver("\0" + name) as sock:
        assert sd_notify("WATCHDOG=1", {"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(4096) == b"WATCHDOG=1"
    assert not sd_notify("READY=1", {})


def test_notifier_pings_the_watchdog_at_half_the_interval(tmp_path: Path) -> None:
    path = str(tmp_path / "n.sock")
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000", "WATCHDOG_PID": str(os.getpid())}
    assert watchdog_interval(env) == pytest.approx(0.2)
    assert watchdog_interval({**env, "WATCHDOG_PID": "1"}) is None
    with _receiver(path) as sock:
        notifier = Notifier(env)
        notifier.ready("revision abc")
        assert notifier.start_watchdog() == pytest.approx(0.2)
        messages = [sock.recv(4096) for _ in range(3)]
        notifier.stopping()
        notifier.close()
        while (last := sock.recv(4096)) == b"WATCHDOG=1":
            pass
    assert messages == [b"READY=1\nSTATUS=revision abc", b"WATCHDOG=1", b"WATCHDOG=1"]
    assert last.startswith(b"STOPPING=1")
