"""Sizes and durations parsed once into integers (MiB, seconds); pure, no I/O."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT](?:iB)?|B)?\s*$", re.IGNORECASE)
_DECIMAL = re.compile(r"^\s*\d+(?:\.\d+)?\s*[KMGT]B\s*$", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNIT_BYTES = {"B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MIB = 1024**2
GIB = 1024**3


class UnitError(ValueError):
    """A size or duration that cannot be parsed; the message is user-facing."""


def parse_bytes(value: object, bare_unit: str) -> int:
    """`2GiB`, `512MiB`, `20G`, or a bare number in `bare_unit` (`M` or `G`) -> bytes."""
    if isinstance(value, bool):
        raise UnitError(f"expected a size such as 2GiB, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise UnitError(f"size must not be negative, got {value}")
        return value * _UNIT_BYTES[bare_unit]
    if not isinstance(value, str):
        raise UnitError(f"expected a size such as 2GiB, got {value!r}")
    match = _SIZE.match(value)
    if match is None:
        if _DECIMAL.match(value):  # 2GB is ambiguous (10^9 or 2^30): make the user say which
            raise UnitError(
                f"invalid size {value!r}: sizes are binary; write {value[:-1].strip()}iB"
            )
        raise UnitError(f"invalid size {value!r}: use a number with KiB, MiB, GiB or TiB")
    number, unit = match.group(1), match.group(2)
    letter = unit[0].upper() if unit else bare_unit
    total = float(number) * _UNIT_BYTES[letter]
    if total != int(total):
        raise UnitError(f"invalid size {value!r}: not a whole number of bytes")
    return int(total)


def parse_mib(value: object) -> int:
    """Memory-style size (bare number = MiB) -> whole MiB."""
    size = parse_bytes(value, "M")
    if size % MIB:
        raise UnitError(f"invalid size {value!r}: memory must be a whole number of MiB")
    return size // MIB


def parse_disk_gib(value: object) -> float:
    """Disk-style size (bare number = GiB) -> GiB, as PVE allocates (may be fractional)."""
    return parse_bytes(value, "G") / GIB


def parse_duration(value: object) -> int:
    """`30s`, `10m`, `4h`, `7d`, `1w` or a bare number of seconds -> seconds."""
    if isinstance(value, bool):
        raise UnitError(f"expected a duration such as 10m, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise UnitError(f"duration must not be negative, got {value}")
        return value
    if not isinstance(value, str):
        raise UnitError(f"expected a duration such as 10m, got {value!r}")
    match = _DURATION.match(value)
    if match is None:
        raise UnitError(f"invalid duration {value!r}: use a number with s, m, h, d or w")
    return int(match.group(1)) * _DURATION_SECONDS[match.group(2)]


def format_bytes(size: int) -> str:
    """Bytes -> the largest exact binary unit (`20GiB`, `512MiB`, `1536KiB`)."""
    for unit in ("T", "G", "M", "K"):
        factor = _UNIT_BYTES[unit]
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}iB"
    return f"{size}B"
