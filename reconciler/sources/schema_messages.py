"""jsonschema errors -> located problems phrased for people: allowed values, not raw regexes."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jsonschema import ValidationError

from reconciler.sources.documents import Document, PathKey, SpecError

_NAME = (
    "use lower-case letters, digits and '-', starting and ending with a letter or digit, "
    "at most 63 characters"
)
_IDENT = "use letters, digits and '_', not starting with a digit"
_TRANSFORM = "use identity, year, month, day, hour, void, bucket[N] or truncate[W]"
_NOCTL = "^[^\\u0000-\\u001f\\u007f]+$"
_ENV = "an environment variable name: letters, digits and '_', not starting with a digit"
# Every `pattern` of the shipped schemas -> what it means (a test checks none is missing).
PATTERN_HINTS: dict[str, str] = {
    "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$": f"is not a valid name; {_NAME}",
    "^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$": "is not a node name; use letters, digits and '-'",
    (
        "^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
        "(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
    ): "is not a host name; use DNS labels (letters, digits, '-') separated by dots",
    "^[A-Za-z][A-Za-z0-9_.-]*:[A-Za-z0-9_./+@-]+$": "is not a template volume; write "
    "STORAGE:vztmpl/FILE (letters, digits, '.', '_', '-', '+', '@', '/'), "
    "e.g. local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
    "^[0-9]+(\\.[0-9]+)?s?$": 'is not a number of seconds; write 60 or "60s"',
    "^sc://[A-Za-z0-9_.\\[\\]:-]+(/(;(?!token=)[A-Za-z_]+=[A-Za-z0-9_.:-]*)*)?$": (
        "is not a Spark Connect URL; write sc://HOST:PORT (optionally /;key=value, "
        "never ;token=: a secret does not belong in the config)"
    ),
    "^[a-zA-Z0-9_]+$": "is not a file system type; use letters, digits and '_' (nfs, cifs)",
    "^[a-zA-Z0-9_][a-zA-Z0-9_+.-]*$": "is not a PVE tag; use letters, digits, '_', '+', '.', '-'",
    "^[a-zA-Z][a-zA-Z0-9_.-]*$": "is not a storage id; start with a letter, then letters, "
    "digits, '_', '.', '-'",
    "^/[A-Za-z0-9._@+/-]*$": "is not an absolute path of letters, digits, '.', '_', '-', "
    "'+', '@' and '/' (no ',', '=', spaces or control characters); start it with /",
    _NOCTL: "must be one line without control characters",
    "^[^\\u0000-\\u001f\\u007f]*$": "must be one line without control characters",
    "^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$": "is not a host name or IP address",
    "^[A-Za-z0-9_./+@-]+$": "is not a script path; use letters, digits, '.', '_', '-', '+', "
    "'@' and '/' (relative to the spec's file)",
    "^[A-Za-z_][A-Za-z0-9_]*_env$": "is not an env reference; name the remote variable with "
    "an _env suffix (PASSWORD_env: LOCAL_VAR): values are never written in specs",
    "^[a-z_][a-z0-9_-]{0,31}$": "is not a user name; lower-case letters, digits, '_', '-'",
    "^[A-Za-z0-9_./~-]+$": "is not a file path; use letters, digits, '.', '_', '-', '~', '/'",
    "^[0-9A-Fa-f.:]+$": "is not an IP address",
    "^([0-9.]+/[0-9]+|dhcp|manual)$": "is not an IPv4 address with a prefix (10.0.0.2/24), "
    "dhcp or manual",
    "^([0-9A-Fa-f:.]+/[0-9]+|auto|dhcp|manual)$": "is not an IPv6 address with a prefix "
    "(fd00::2/64), auto, dhcp or manual",
    "^[A-Za-z0-9_+/-]+$": "is not a time zone name; write an IANA name such as Europe/Berlin",
    "^[A-Za-z0-9.:\\[\\]-]+$": "is not a host name or IP address",
    "^[A-Za-z][A-Za-z0-9._-]*$": "is not an API token name; use letters, digits, '.', '_', '-'",
    "^[A-Za-z0-9_][A-Za-z0-9._/-]*$": "is not a branch name; use letters, digits, '.', '_', "
    "'-', '/', not starting with '-' or '.'",
    "^[^\\s\\u0000-\\u001f\\u007f-][^\\s\\u0000-\\u001f\\u007f]*$": "is not a git URL; no "
    "spaces or control characters, and it must not start with '-'",
    "^[A-Za-z0-9_.][A-Za-z0-9._/-]*$": "is not a path in the repository; use letters, digits, "
    "'.', '_', '-', '/', not starting with '-' or '/'",
    "^[A-Za-z0-9_.:/\\[\\]*-]+$": "is not a Spark master; e.g. local[2], spark://host:7077",
    "^[-_.a-zA-Z0-9]+$": "is not an interface name; use letters, digits, '-', '_', '.'",
    "^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$": "is not a MAC address; write XX:XX:XX:XX:XX:XX",
    "^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$": "is not a namespace; use "
    f"identifiers separated by dots ({_IDENT})",
    "^[A-Za-z_][A-Za-z0-9_]*$": f"is not an identifier; {_IDENT}",
    (
        "^(boolean|int|long|float|double|date|time|timestamp|timestamptz|string|uuid|binary"
        "|fixed\\[[1-9][0-9]*\\]|decimal\\( *[1-9][0-9]? *, *[0-9][0-9]? *\\))$"
    ): "is not an Iceberg type; use boolean, int, long, float, double, date, time, timestamp, "
    "timestamptz, string, uuid, binary, fixed[N], decimal(P,S) or a struct, list or map",
    "^[^.\\u0000-\\u001f\\u007f]+$": "must not contain control characters or '.'; "
    "nest columns with a struct type instead",
    "^(identity|year|month|day|hour|void|bucket\\[[1-9][0-9]*\\]|truncate\\[[1-9][0-9]*\\])$": (
        f"is not a transform; {_TRANSFORM}"
    ),
    "^(file|s3)://[^\\u0000-\\u001f\\u007f ]+$": "is not a backup target; write "
    "file:///path or s3://bucket/prefix (no spaces or control characters)",
    "^https?://[^\\u0000-\\u001f\\u007f ]+$": "is not an endpoint URL; write "
    "http://host:port or https://host (no spaces or control characters)",
    "^[a-z0-9-]+$": "is not a region name; use lowercase letters, digits and '-' (eu-west-1)",
    "^ *[0-9]+ *[smhdw] *$": "is not a duration; use a whole number with s, m, h, d or w: "
    "30s, 10m, 4h, 7d, 1w",
    "^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$": "is not a PVE user; write USER@REALM, e.g. reconciler@pve",
    "^[A-Za-z_][A-Za-z0-9_-]*$": "is not a catalog name; use letters, digits, '_' and '-'",
    "^https?://[^\\s]+$": "is not an http:// or https:// URL",
    "^[^\\s:]*:[0-9]{1,5}$": "is not a listen address; write HOST:PORT, e.g. 127.0.0.1:9101",
}
_ENV_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"
_ENV_KEYS = ("token_secret_env", "token_env", "secret_env")


@dataclass(frozen=True)
class SchemaProblem:
    """One located schema problem; `path` is where the bad value is (or the missing key)."""

    path: PathKey
    message: str
    missing: bool = False  # a required key: nothing to remove

    def error(self, doc: Document) -> SpecError:
        return doc.error(self.path, self.message)


def show(value: Any) -> str:
    """A value as the user wrote it, JSON-quoted and shortened."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _closest_alternative(error: ValidationError) -> ValidationError:
    """The alternative the user most likely meant: not one whose type differs, the deepest."""
    depth = len(error.absolute_path)
    wrong_type = [
        e for e in error.context if e.validator == "type" and len(e.absolute_path) == depth
    ]
    candidates = [e for e in error.context if e not in wrong_type] or list(error.context)
    return max(candidates, key=lambda e: len(e.absolute_path))


_TYPE_NAMES = {
    "integer": "an integer", "number": "a number", "string": "a string", "boolean":
    "true or false", "array": "a list", "object": "a mapping", "null": "null",
}  # fmt: skip


def _phrase(error: ValidationError, path: PathKey) -> str:
    value = error.instance
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{show(value)} is not one of: {allowed}"
    if error.validator == "const":
        return f"{show(value)} must be {show(error.validator_value)}"
    if error.validator == "pattern":
        key = path[-1] if path else ""
        if error.validator_value == _ENV_PATTERN and key in _ENV_KEYS:
            return f"{show(value)} is not {_ENV}"
        hint = PATTERN_HINTS.get(str(error.validator_value), "does not have the expected form")
        return f"{show(value)} {hint}"
    if error.validator == "type":
        wanted = error.validator_value
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        return f"{show(value)} is not " + " or ".join(_TYPE_NAMES.get(n, n) for n in names)
    return str(error.message)


def schema_problems(error: ValidationError) -> Iterable[SchemaProblem]:
    """One jsonschema error -> located problems; unknown and missing keys get their own path."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        yield from schema_problems(_closest_alternative(error))
        return
    path: PathKey = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(schema.get("properties", {}))
        patterns = schema.get("patternProperties", {})
        for key in error.instance:
            if key in known or any(re.search(p, str(key)) for p in patterns):
                continue
            hint = difflib.get_close_matches(str(key), known, n=1)
            suffix = f"; did you mean {hint[0]!r}?" if hint else ""
            yield SchemaProblem((*path, key), f"unknown key{suffix}")
        return
    if error.validator == "required" and isinstance(error.instance, dict):
        for key in error.validator_value:
            if key not in error.instance:
                yield SchemaProblem((*path, key), "required key is missing", missing=True)
        return
    if "propertyNames" in error.schema_path and isinstance(error.instance, str):
        path = (*path, error.instance)  # the key itself is wrong: point at its line
    yield SchemaProblem(path, _phrase(error, path))
