"""Parameter verification before any handler, with PVE's texts and 400 errors map; pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import propstr
from .errors import ApiError
from .formats import check_format
from .schema import P, propstr_format, schema_key

_INT = re.compile(r"^[+-]?[0-9]+$")
_NUM = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


def _show(value: Any) -> str:
    return str(value)


def _typed(spec: P, value: Any, loose_bool: bool) -> tuple[Any, str | None]:
    """Type check; returns the config-typed value (int for integer/boolean, str otherwise)."""
    bad = (None, f"type check ('{spec.kind}') failed - got '{_show(value)}'")
    if spec.kind == "boolean":
        if isinstance(value, bool) and loose_bool:
            return int(value), None
        if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
            return value, None
        if isinstance(value, str) and value in ("0", "1"):
            return int(value), None
        return bad
    if spec.kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value, None
        if isinstance(value, str) and _INT.fullmatch(value):
            return int(value), None
        return bad
    if spec.kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value), None
        if isinstance(value, str) and _NUM.fullmatch(value):
            return value, None
        return bad
    if isinstance(value, (dict, bool)):
        return bad
    if isinstance(value, list):
        return ",".join(str(v) for v in value), None
    return str(value), None


def check_value(
    spec: P, value: Any, loose_bool: bool, version: str = "8.3", path: str = ""
) -> tuple[Any, str | None]:
    """Check one value against its spec; (normalised value, error text or None)."""
    normal, err = _typed(spec, value, loose_bool)
    if err:
        return None, err
    if spec.kind in ("integer", "number"):
        num = float(normal)
        if spec.minimum is not None and num < spec.minimum:
            return None, f"value must have a minimum value of {_num(spec.minimum)}"
        if spec.maximum is not None and num > spec.maximum:
            return None, f"value must have a maximum value of {_num(spec.maximum)}"
        return normal, None
    if spec.kind != "string":
        return normal, None
    text: str = normal
    if spec.max_length is not None and len(text) > spec.max_length:
        return None, f"value may only be {spec.max_length} characters long"
    if spec.min_length is not None and len(text) < spec.min_length:
        return None, f"value must be at least {spec.min_length} characters long"
    if spec.fmt:
        msg = check_format(spec.fmt, text)
        if msg:
            return None, f"invalid format - {msg}\n"
    if spec.sub:
        fmt = propstr_format(spec.sub, version)

        def sub_check(p: P, v: Any, _loose: bool) -> tuple[Any, str | None]:
            return check_value(p, v, True, version)

        try:
            propstr.parse(fmt, text, path, sub_check)
        except propstr.PropStrError as exc:
            return None, f"invalid format - {exc}"
    if spec.pattern and not re.fullmatch(spec.pattern, text, re.S):
        return None, "value does not match the regex pattern"
    if spec.enum and text not in spec.enum:
        return (
            None,
            f"value '{text}' does not have a value in the enumeration '{', '.join(spec.enum)}'",
        )
    return text, None


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def validate(
    params: Mapping[str, Any], table: Mapping[str, P], *, from_json: bool, version: str
) -> dict[str, Any]:
    """Check all parameters; return normalised values or raise 400 with every error found."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key, value in params.items():
        spec = table.get(schema_key(key))
        if spec is None:
            errors[key] = (
                "property is not defined in schema and the schema does not "
                "allow additional properties"
            )
            continue
        normal, err = check_value(spec, value, from_json, version, key)
        if err:
            errors[key] = err
        else:
            out[key] = normal
    for key, spec in table.items():
        if "[n]" in key:
            continue
        if not spec.optional and key not in params:
            errors[key] = "property is missing and it is not optional"
        elif spec.requires and key in params and spec.requires not in params:
            errors[spec.requires] = f"missing property - '{key}' requires this property"
    if errors:
        raise ApiError(400, "Parameter verification failed.", errors)
    return out


def parse_propstr(fmt_name: str, value: str, version: str) -> dict[str, Any]:
    """Parse an already validated property string into typed sub-values."""
    fmt = propstr_format(fmt_name, version)

    def sub_check(p: P, v: Any, _loose: bool) -> tuple[Any, str | None]:
        return check_value(p, v, True, version)

    return propstr.parse(fmt, value, fmt_name, sub_check)


def render_propstr(fmt_name: str, data: Mapping[str, Any], version: str) -> str:
    """Print a property string canonically (as PVE writes it to the config)."""
    return propstr.render(propstr_format(fmt_name, version), data)
