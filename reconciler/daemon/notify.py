"""systemd sd_notify over the $NOTIFY_SOCKET datagram socket (stdlib only); no policy."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Mapping


def _address(raw: str) -> str | bytes | None:
    if raw.startswith("@"):
        return "\0" + raw[1:]  # abstract namespace
    if raw.startswith("/"):
        return raw
    return None


def sd_notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send one notification (e.g. "READY=1\\nSTATUS=..."); False when not under systemd."""
    raw = (env if env is not None else os.environ).get("NOTIFY_SOCKET", "")
    address = _address(raw)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.setblocking(False)  # a stalled reader must never stall the daemon
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError:
        return False
    return True


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Half of WatchdogSec, from $WATCHDOG_USEC (honouring $WATCHDOG_PID), or None."""
    values = env if env is not None else os.environ
    usec = values.get("WATCHDOG_USEC", "")
    pid = values.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) <= 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1_000_000 / 2


class Heartbeat:
    """Proof of life from the main loop: alive while the last beat's allowance has not run out.

    The loop beats on every wake-up with a short allowance; inside a cycle each progress
    event beats with the longest step the engine itself bounds, so a slow Proxmox task is
    not a hang but a deadlocked or stalled cycle is.
    """

    def __init__(self, allowance: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._deadline = clock() + allowance
        self._allowance = allowance

    def beat(self, allowance: float | None = None) -> None:
        with self._lock:
            if allowance is not None:
                self._allowance = allowance
            self._deadline = self._clock() + self._allowance

    def alive(self) -> bool:
        with self._lock:
            return self._clock() < self._deadline


class Notifier:
    """READY/STATUS/STOPPING messages and a watchdog pinger gated by a Heartbeat."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = dict(env if env is not None else os.environ)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.heartbeat: Heartbeat | None = None

    def send(self, message: str) -> bool:
        return sd_notify(message, self._env)

    def ready(self, status: str) -> None:
        self.send(f"READY=1\nSTATUS={status}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def stopping(self, status: str = "stopping") -> None:
        self.send(f"STOPPING=1\nSTATUS={status}")

    def start_watchdog(self, heartbeat: Heartbeat | None = None) -> float | None:
        """Ping at half of WatchdogSec while `heartbeat` is alive; None without a watchdog.

        A stale heartbeat silences the pings, so systemd kills and restarts a hung loop.
        """
        interval = watchdog_interval(self._env)
        if interval is None or self._thread is not None:
            return interval
        self.heartbeat = heartbeat
        self._thread = threading.Thread(
            target=self._ping, args=(interval,), name="sd-watchdog", daemon=True
        )
        self._thread.start()
        return interval

    def _ping(self, interval: float) -> None:
        while not self._stop.wait(interval):
            if self.heartbeat is None or self.heartbeat.alive():
                self.send("WATCHDOG=1")

    def stop_watchdog(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def close(self) -> None:
        self.stop_watchdog()
