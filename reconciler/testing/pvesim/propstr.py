"""Parse and print PVE property strings (`key=value,...`) like pve-common does; pure functions."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .schema import P

_TRUE = ("1", "on", "yes", "true")
_FALSE = ("0", "off", "no", "false")

CheckValue = Callable[[P, Any, bool], "tuple[Any, str | None]"]


class PropStrError(Exception):
    """A malformed property string; str() is the text after `invalid format - `."""


def parse_boolean(value: str) -> int | None:
    """PVE's parse_boolean: 1/on/yes/true and 0/off/no/false, any case."""
    low = value.lower()
    if low in _TRUE:
        return 1
    if low in _FALSE:
        return 0
    return None


def split_pairs(fmt: Mapping[str, P], data: str) -> dict[str, str]:
    """First pass: split on commas into a raw key->value map, raising PVE's structural errors."""
    res: dict[str, str] = {}
    default_key = next((k for k, p in fmt.items() if p.default_key), None)
    used_default = False
    for part in data.split(","):
        if not part.strip():
            continue
        m = re.match(r"^([^=]+)=(.+)$", part, re.S)
        if m:
            key, val = m.group(1), m.group(2)
            if key in res:
                raise PropStrError(f"duplicate key in comma-separated list property: {key}")
            if key not in fmt:
                raise PropStrError(f"invalid key in comma-separated list property: {key}")
            res[key] = val
        elif "=" not in part:
            if default_key is None:
                raise PropStrError("value without key, but schema does not define a default key")
            if used_default or default_key in res:
                raise PropStrError(f"duplicate key in comma-separated list property: {default_key}")
            used_default = True
            res[default_key] = part
        else:
            raise PropStrError("missing key in comma-separated list property")
    return res


def parse(fmt: Mapping[str, P], data: str, path: str, check: CheckValue) -> dict[str, Any]:
    """Parse and check each sub-key; errors come back as PVE's nested `format error` text."""
    raw = split_pairs(fmt, data)
    res: dict[str, Any] = {}
    errors: list[str] = []
    for key in sorted(fmt):
        spec = fmt[key]
        if key not in raw:
            if not spec.optional:
                errors.append(f"{path}.{key}: property is missing and it is not optional")
            continue
        value: Any = raw[key]
        if spec.kind == "boolean":
            parsed = parse_boolean(value)
            value = value if parsed is None else parsed
        normal, err = check(spec, value, True)
        if err:
            errors.append(f"{path}.{key}: {err}")
        else:
            res[key] = normal
    if errors:
        raise PropStrError("format error\n" + "".join(e.rstrip("\n") + "\n" for e in errors))
    return res


def render(fmt: Mapping[str, P], data: Mapping[str, Any]) -> str:
    """Print like pve-common: the default key bare, then required keys, then optional, sorted."""
    default_key = next((k for k, p in fmt.items() if p.default_key), None)
    parts: list[str] = []
    if default_key and default_key in data:
        parts.append(str(data[default_key]))
    required = sorted(k for k in data if k != default_key and k in fmt and not fmt[k].optional)
    optional = sorted(k for k in data if k != default_key and (k not in fmt or fmt[k].optional))
    parts.extend(f"{k}={data[k]}" for k in (*required, *optional))
    return ",".join(parts)
