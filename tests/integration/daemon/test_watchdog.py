"""Watchdog pings prove the main loop is alive: they stop while a cycle makes no progress."""

from __future__ import annotations

import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from daemon_gitrepo import Origin
from daemon_harness import DaemonProcess, container, write_config

from reconciler.daemon.notify import Heartbeat, Notifier


class NotifySocket:
    """A datagram socket read continuously, like systemd's; (receive time, message) pairs."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        self._sock.settimeout(0.2)
        self._lock = threading.Lock()
        self._messages: list[tuple[float, str]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._done.is_set():
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            with self._lock:
                self._messages.append((time.time(), data.decode()))

    def messages(self) -> list[tuple[float, str]]:
        with self._lock:
            return list(self._messages)

    def pings(self, after: float = 0.0) -> list[float]:
        return [t for t, m in self.messages() if m == "WATCHDOG=1" and t >= after]

    def wait_ping(self, after: float, timeout: float = 10.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pings := self.pings(after):
                return pings[0]
            time.sleep(0.05)
        raise AssertionError(f"no WATCHDOG=1 after {after}: {self.messages()[-5:]}")

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        self._sock.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


def test_heartbeat_expires_without_beats_and_revives_on_one() -> None:
    beat = Heartbeat(0.2)
    assert beat.alive()
    deadline = time.monotonic() + 5
    while beat.alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not beat.alive()
    beat.beat()
    assert beat.alive()
    beat.beat(30.0)  # a new allowance sticks for later beats
    time.sleep(0.3)
    assert beat.alive()


def test_pinger_goes_silent_while_the_heartbeat_is_stale(notify_socket: NotifySocket) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": notify_socket.path, "WATCHDOG_USEC": "200000"})
    beat = Heartbeat(0.3)
    assert notifier.start_watchdog(beat) == pytest.approx(0.1)
    try:
        notify_socket.wait_ping(after=0.0)
        deadline = time.monotonic() + 5
        while beat.alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        stale_since = time.time()
        time.sleep(0.6)  # several ping intervals with a stale heartbeat
        assert notify_socket.pings(after=stale_since + 0.15) == []
        revived = time.time()
        beat.beat()
        notify_socket.wait_ping(after=revived)
    finally:
        notifier.close()


def _log_time(output: str, event: str) -> float:
    match = re.search(rf"^(\S+Z) \[\w+\s*\] {re.escape(event)}\b", output, re.MULTILINE)
    assert match, f"no {event} in the log"
    return datetime.fromisoformat(match.group(1)).timestamp()


def test_daemon_stops_pinging_while_a_cycle_is_stalled_and_resumes_after(
    origin: Origin,
    pvesim_factory: Any,
    tmp_path: Path,
    daemons: list[DaemonProcess],
    notify_socket: NotifySocket,
) -> None:
    sim = pvesim_factory(task_seconds=3.0)  # create + start: ~6 s without a progress event
    origin.commit({"specs/s.yaml": container("s", 253)})
    config = write_config(tmp_path, origin.url, sim, poll="1h", daemon_extra=("stall_timeout: 1s",))
    daemon = DaemonProcess(
        config, sim, {"NOTIFY_SOCKET": notify_socket.path, "WATCHDOG_USEC": "1000000"}
    ).start()
    daemons.append(daemon)
    daemon.until("the action finished", lambda: "action.done" in daemon.output(), timeout=60)
    resumed = notify_socket.wait_ping(after=_log_time(daemon.output(), "action.done"))
    output = daemon.output()
    started, done = _log_time(output, "action.start"), _log_time(output, "action.done")
    assert done - started > 4.0  # the sim's tasks made a long silent stretch
    assert notify_socket.pings(after=0.0)[0] < started  # pinged while idle before the cycle
    # allowance = WatchdogSec (2 s) after the last beat; a ping in flight may land up to 0.5 s
    # later, so from start + 3 s until the action completes systemd hears nothing.
    silent = [t for t in notify_socket.pings(after=started + 3.0) if t < done]
    assert silent == []
    assert resumed >= done
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(timeout=60) == 0
    deadline = time.monotonic() + 10  # the reader thread may still be draining the socket
    while not notify_socket.messages()[-1][1].startswith("STOPPING=1"):
        assert time.monotonic() < deadline, notify_socket.messages()[-3:]
        time.sleep(0.05)
    time.sleep(0.3)
    assert notify_socket.messages()[-1][1].startswith("STOPPING=1")  # no ping after it
