"""`.env` beside the config: secrets for the `*_env` indirection, read once at start-up.

Only `KEY=value` lines (optional `export `, quotes, `#` comments). The file must not be
readable by group or others (0600), since it holds tokens; variables already set in the
environment win (systemd's EnvironmentFile, CI). Values are never logged or echoed.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import MutableMapping
from pathlib import Path

_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


class DotenvError(ValueError):
    """A `.env` file that is unsafe or malformed; the message names file and line."""


def parse_dotenv(text: str, display: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise DotenvError(f"{display}:{number}: expected KEY=value")
        key, value = match.group(1), match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def load_dotenv(path: Path, environ: MutableMapping[str, str] | None = None) -> tuple[str, ...]:
    """Set the variables of `path` that `environ` lacks; returns their names (not values)."""
    target = os.environ if environ is None else environ
    if not path.is_file():
        return ()
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise DotenvError(
            f"{path}: holds secrets but is readable by others (mode {mode:04o}); "
            f"run: chmod 600 {path}"
        )
    loaded = []
    for key, value in parse_dotenv(path.read_text(encoding="utf-8"), str(path)).items():
        if key not in target:
            target[key] = value
            loaded.append(key)
    return tuple(loaded)
