"""`.env` beside the config: secrets for the `*_env` indirection, read once at start-up.

Parsed by python-dotenv (`KEY=value`, optional `export `, quotes, `#` comments; no `${VAR}`
interpolation, so a `$` in a token stays literal); a line it cannot read is an error naming
file and line rather than a silent skip. The file must not be
readable by group or others (0600), since it holds tokens; variables already set in the
environment win (systemd's EnvironmentFile, CI). Values are never logged or echoed.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import MutableMapping
from pathlib import Path

from dotenv.parser import parse_stream


class DotenvError(ValueError):
    """A `.env` file that is unsafe or malformed; the message names file and line."""


def parse_dotenv(text: str, display: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error or (binding.key is not None and binding.value is None):
            text_read = binding.original.string  # starts with the blank lines before it
            line = binding.original.line + len(text_read) - len(text_read.lstrip("\n"))
            raise DotenvError(f"{display}:{line}: expected KEY=value")
        if binding.key is not None and binding.value is not None:
            values[binding.key] = binding.value
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
