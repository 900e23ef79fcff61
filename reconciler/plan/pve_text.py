"""PVE property strings, booleans, sizes and lists, both directions; pure (the differ encodes)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from reconciler.model.units import GIB

_TRUE = frozenset({"1", "on", "yes", "true"})
_FALSE = frozenset({"0", "off", "no", "false"})
_DISK_SIZE = re.compile(r" *([0-9]+(?:\.[0-9]+)?) *([KMGT]?) *", re.IGNORECASE)
_UNIT = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_LIST_SPLIT = re.compile(r"[;,\s]+")
# A value holding one of these would end its pair and inject another key (`/data,backup=1`).
_UNSAFE_VALUE = re.compile(r"[,=\x00-\x1f\x7f]")


class CodecError(ValueError):
    """A PVE value that does not have the documented shape."""


def parse_propstring(text: str, default_key: str | None = None) -> dict[str, str]:
    """`volume,mp=/data,size=8G` -> {"volume": ..., "mp": "/data", "size": "8G"}."""
    result: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            if default_key is None:
                raise CodecError(f"missing key in property string {text!r}: {part!r}")
            key, value = default_key, part
        result[key.strip()] = value.strip()
    return result


def format_propstring(pairs: Iterable[tuple[str, object]], default_key: str | None = None) -> str:
    """Inverse of parse_propstring; None values are left out, the default key goes bare."""
    parts: list[str] = []
    for key, value in pairs:
        if value is None:
            continue
        text = format_scalar(value)
        if _UNSAFE_VALUE.search(text):
            # Validation refuses these first; this is the last line before the wire.
            raise CodecError(
                f"{key}: {text!r} cannot go in a property string (',', '=' or a control character)"
            )
        parts.append(text if key == default_key else f"{key}={text}")
    return ",".join(parts)


def format_scalar(value: object) -> str:
    """Booleans as 1/0 (PVE rejects True/False), whole floats without `.0`."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def format_number(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return repr(value)


def to_flag(value: bool) -> int:
    """Top-level boolean parameter: PVE accepts only 1 or 0 in a form body."""
    return 1 if value else 0


def parse_bool(value: object, default: bool = False) -> bool:
    """1/0 numbers at the top level; 1|on|yes|true inside property strings."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CodecError(f"not a PVE boolean: {value!r}")


def parse_opt_bool(value: str | None) -> bool | None:
    return None if value is None else parse_bool(value)


def parse_int(value: object) -> int:
    if isinstance(value, bool):
        raise CodecError(f"not an integer: {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise CodecError(f"not an integer: {value!r}") from exc


def parse_float(value: object) -> float:
    try:
        return float(str(value).strip())
    except ValueError as exc:
        raise CodecError(f"not a number: {value!r}") from exc


def parse_disk_size(text: str) -> int:
    """PVE disk-size `20G`, `512M`, `1T`, `100K`, `0.5G` or bare bytes -> bytes."""
    match = _DISK_SIZE.fullmatch(text)
    if match is None:
        raise CodecError(f"invalid disk size {text!r}")
    return round(float(match.group(1)) * _UNIT[match.group(2).upper()])


def format_disk_size(size_bytes: int) -> str:
    """Bytes -> the largest exact PVE unit (`20G`, `1536M`), as /resize accepts."""
    for unit in ("T", "G", "M", "K"):
        factor = _UNIT[unit]
        if size_bytes >= factor and size_bytes % factor == 0:
            return f"{size_bytes // factor}{unit}"
    return str(size_bytes)


def format_gib(size_bytes: int) -> str:
    """Bytes -> GiB for `STORAGE:SIZE_IN_GiB` allocation; PVE accepts decimals."""
    return format_number(size_bytes / GIB)


def split_list(text: object) -> tuple[str, ...]:
    """PVE lists (`a;b;c`, `1.1.1.1 8.8.8.8`): separators `;`, `,` or blanks."""
    if text is None:
        return ()
    return tuple(item for item in _LIST_SPLIT.split(str(text)) if item)


def normalise_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Sorted, lower-case, de-duplicated, as ContainerSettings.tags holds them."""
    return tuple(sorted({tag.strip().lower() for tag in tags if tag.strip()}))


def get_str(config: Mapping[str, object], key: str) -> str | None:
    value = config.get(key)
    return None if value is None else str(value)
