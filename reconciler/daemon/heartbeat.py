"""The daemon's heartbeat in the store, so `status` can tell a running daemon from a dead one.

The loop writes `{"at", "pid", "stale_after", "stopped"}` under the state key `heartbeat`
(throttled); `status` compares `at + stale_after` with an injected now.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from reconciler.store import Store

KEY = "heartbeat"
log = structlog.get_logger("reconciler.daemon")


def write_every(poll_interval: float) -> float:
    """How often the idle loop refreshes its heartbeat: every poll, at least every 30 s."""
    return max(1.0, min(float(poll_interval), 30.0))


def idle_threshold(poll_interval: float) -> float:
    """Seconds without a heartbeat after which an idle daemon counts as not running:
    two poll intervals plus a minute (a poll cycle, a slow fetch and a busy disk fit)."""
    return 2.0 * float(poll_interval) + 60.0


class HeartbeatWriter:
    """Writes the heartbeat at most every `every` seconds (beats come from several threads)."""

    def __init__(
        self,
        store: Store,
        every: float,
        stale_after: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._every = every
        self._stale_after = stale_after
        self._clock = clock
        self._lock = threading.Lock()
        self._last = float("-inf")

    def beat(self, stale_after: float | None = None, force: bool = False) -> None:
        """Refresh the heartbeat; `stale_after` changes the allowance (long cycle vs idle)."""
        now = self._clock()
        with self._lock:
            if stale_after is not None and stale_after != self._stale_after:
                self._stale_after, force = stale_after, True
            if not force and now - self._last < self._every:
                return
            self._last = now
            value = {"at": _iso(now), "pid": os.getpid(), "stale_after": self._stale_after}
        self._write({**value, "stopped": False})

    def stopped(self) -> None:
        """A clean stop: status says `stopped`, not `not running` (nothing crashed)."""
        self._write(
            {"at": _iso(self._clock()), "pid": os.getpid(), "stale_after": 0, "stopped": True}
        )

    def _write(self, value: dict[str, Any]) -> None:
        try:
            self._store.put(**{KEY: value})
        except Exception:  # status only: a full disk must not stop reconciling
            log.exception("heartbeat.store_failed")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def age_text(seconds: float) -> str:
    """`3 h ago`, `12 min ago`, `40 s ago`, `2 d ago`."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{int(seconds)} s ago"
    if seconds < 90 * 60:
        return f"{int(seconds // 60)} min ago"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def daemon_state(value: Any, now: float) -> dict[str, Any]:
    """`daemon` (a sentence), `daemon_running` and `heartbeat_at` for the status document."""
    if not isinstance(value, dict) or "at" not in value:
        return {
            "daemon": "not running (no heartbeat recorded)",
            "daemon_running": False,
            "heartbeat_at": None,
        }
    at = str(value["at"])
    try:
        age = now - datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        age = float("inf")
    when = f"{at}, {age_text(age)}" if age != float("inf") else at
    if value.get("stopped"):
        text, running = f"stopped (at {when})", False
    elif age > float(value.get("stale_after") or 0):
        text, running = f"not running (last heartbeat {when})", False
    else:
        text, running = f"running (pid {value.get('pid')}, last heartbeat {when})", True
    return {"daemon": text, "daemon_running": running, "heartbeat_at": at}
