"""Sizes and durations parsed once into integers (MiB, seconds); pure, no I/O."""

from __future__ import annotations

import json
import re

# ASCII digits and spaces only: `\d`, `\s` and int() also take `٢` or a no-break space.
_SIZE = re.compile(r" *([0-9]{1,16}(?:\.[0-9]{1,9})?) *([KMGT](?:iB)?|B)? *", re.IGNORECASE)
_DECIMAL = re.compile(r" *[0-9]+(?:\.[0-9]+)? *[KMGT]B *", re.IGNORECASE)
_DURATION = re.compile(r" *([0-9]{1,12}) *(s|m|h|d|w) *")
_UNIT_BYTES = {"B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MIB = 1024**2
GIB = 1024**3
MAX_BYTES = 1024**5  # 1 PiB: above any memory or volume PVE can allocate; a typo, not a size
MAX_SECONDS = 3650 * 86400  # 10 years: longer is a typo (and overflows date arithmetic)


class UnitError(ValueError):
    """A size or duration that cannot be parsed; the message is user-facing."""


SIZE_HINT = "use a number with a unit: 512MiB, 2GiB, ..."
DURATION_HINT = "use a whole number with s, m, h, d or w: 30s, 10m, 4h, 7d, 1w"


def _show(value: object) -> str:
    """A value as YAML/JSON would show it: strings in double quotes, true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # escapes quotes and control characters
    return repr(value)


def parse_bytes(value: object, bare_unit: str) -> int:
    """`2GiB`, `512MiB`, `20G`, or a bare number in `bare_unit` (`M` or `G`) -> bytes.

    The rules (docs/specs.md, Units): units are binary and case-insensitive (`K`/`KiB` =
    1024, `M`/`MiB`, `G`/`GiB`, `T`/`TiB`, `B` = bytes); `KB`, `MB`, `GB`, `TB` are refused
    as ambiguous; the result is a whole number of bytes, never negative."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise UnitError(f"{_show(value)} is not a size; {SIZE_HINT}")
    if isinstance(value, int):
        if value < 0:
            raise UnitError(f"size must not be negative, got {value}")
        return _bounded_size(value * _UNIT_BYTES[bare_unit], value)
    match = _SIZE.fullmatch(value)
    if match is None:
        if _DECIMAL.fullmatch(
            value
        ):  # 2GB is 10^9 for disk vendors, 2^30 for PVE: make it explicit
            number = value.strip()[:-2].strip()
            letter = value.strip()[-2].upper()
            raise UnitError(
                f"{_show(value)} is ambiguous (10^9 or 2^30 bytes?); sizes are binary: "
                f"write {number}{letter}iB"
            )
        raise UnitError(f"{_show(value)} is not a size; {SIZE_HINT}")
    number, unit = match.group(1), match.group(2)
    letter = unit[0].upper() if unit else bare_unit
    total = float(number) * _UNIT_BYTES[letter]
    if total != int(total):
        raise UnitError(f"{_show(value)} is not a whole number of bytes")
    return _bounded_size(int(total), value)


def _bounded_size(size: int, value: object) -> int:
    if size > MAX_BYTES:
        raise UnitError(f"{_show(value)} is larger than 1PiB, the largest size accepted")
    return size


def parse_mib(value: object) -> int:
    """Memory-style size (bare number = MiB) -> whole MiB."""
    size = parse_bytes(value, "M")
    if size % MIB:
        raise UnitError(f"{_show(value)} is not a whole number of MiB (memory is set in MiB)")
    return size // MIB


def parse_disk_gib(value: object) -> float:
    """Disk-style size (bare number = GiB) -> GiB, as PVE allocates (may be fractional)."""
    return parse_bytes(value, "G") / GIB


def parse_duration(value: object) -> int:
    """`30s`, `10m`, `4h`, `7d`, `1w` (lower-case) or a bare integer of seconds -> seconds."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise UnitError(f"{_show(value)} is not a duration; {DURATION_HINT}")
    if isinstance(value, int):
        if value < 0:
            raise UnitError(f"duration must not be negative, got {value}")
        return _bounded_duration(value, value)
    match = _DURATION.fullmatch(value)
    if match is None:
        raise UnitError(f"{_show(value)} is not a duration; {DURATION_HINT}")
    return _bounded_duration(int(match.group(1)) * _DURATION_SECONDS[match.group(2)], value)


def _bounded_duration(seconds: int, value: object) -> int:
    if seconds > MAX_SECONDS:
        raise UnitError(f"{_show(value)} is longer than 3650d, the longest duration accepted")
    return seconds


def format_bytes(size: int) -> str:
    """Bytes -> the largest exact binary unit (`20GiB`, `512MiB`, `1536KiB`)."""
    for unit in ("T", "G", "M", "K"):
        factor = _UNIT_BYTES[unit]
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}iB"
    return f"{size}B"
