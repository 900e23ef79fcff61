"""systemd sd_notify over the $NOTIFY_SOCKET datagram socket (stdlib only); no policy."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Mapping


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


class Notifier:
    """READY/STATUS/STOPPING messages and a watchdog pinger thread."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = dict(env if env is not None else os.environ)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def send(self, message: str) -> bool:
        return sd_notify(message, self._env)

    def ready(self, status: str) -> None:
        self.send(f"READY=1\nSTATUS={status}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def stopping(self, status: str = "stopping") -> None:
        self.send(f"STOPPING=1\nSTATUS={status}")

    def start_watchdog(self) -> float | None:
        interval = watchdog_interval(self._env)
        if interval is None or self._thread is not None:
            return interval
        self._thread = threading.Thread(
            target=self._ping, args=(interval,), name="sd-watchdog", daemon=True
        )
        self._thread.start()
        return interval

    def _ping(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.send("WATCHDOG=1")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
