"""A recurring time window (cron start, duration, time zone) of policies and containers; pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """Open from each cron `schedule` start for `duration` seconds, in `timezone` (IANA
    name). Maintenance runs only inside its policy's window, a `restart: window` CT reboots
    only inside its `restartWindow`; outside, the work is planned as deferred."""

    schedule: str
    duration: int
    timezone: str = "UTC"
