"""Time and size wording of maintenance lines, and policy windows; pure (the clock comes in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from reconciler.model.policies import Window


def format_duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def approx_bytes(size: int) -> str:
    """Rounded binary size for reasons (`format_bytes` is exact, for spec values)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}TiB"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def window_is_open(window: Window, now: datetime) -> tuple[bool, datetime]:
    """(open now, start of the next window) for a cron window in its own timezone."""
    local = _aware(now).astimezone(ZoneInfo(window.timezone))
    # Start one second later so a start exactly at `now` counts as the current window.
    last_start: datetime = croniter(window.schedule, local + timedelta(seconds=1)).get_prev(
        datetime
    )
    next_start: datetime = croniter(window.schedule, local).get_next(datetime)
    return local < last_start + timedelta(seconds=window.duration), next_start
