"""Timing rules of the daemon loop: failure backoff and the watchdog's stall allowance."""

from __future__ import annotations

from reconciler.settings import Settings
from reconciler.sources.git import FETCH_TIMEOUT

BACKOFF_BASE = 5.0
BACKOFF_CAP = 600.0
BUSY_RETRY = 5.0
MANUAL = ("start", "webhook", "signal", "watch")


def stall_allowance(settings: Settings) -> float:
    """How long a cycle may go without progress: the longest step the engine bounds, + 1 min."""
    if settings.daemon.stall_timeout:
        return float(settings.daemon.stall_timeout)
    steps = (
        settings.apply.task_timeout,
        settings.proxmox.timeout,
        settings.spark.timeout,
        FETCH_TIMEOUT,
    )
    return max(steps) + 60.0


def backoff(failures: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Exponential delay after `failures` consecutive failed cycles, capped."""
    return float(min(cap, base * 2 ** max(0, failures - 1)))
