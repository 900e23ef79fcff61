"""What every command shares: logs, the config (and its `.env`), the confirmation prompt."""

from __future__ import annotations

import sys
from pathlib import Path

from reconciler.settings import Settings


def configure_logs(verbose: int, daemon: bool) -> None:
    import logging

    from reconciler.daemon.logs import configure_logging

    levels = (logging.INFO if daemon else logging.WARNING, logging.INFO, logging.DEBUG)
    configure_logging(json_lines=None, level=levels[min(verbose, 2)])


def load_settings(path: Path | None) -> Settings:
    """The config, then the `.env` beside it (or in the working directory without one)."""
    from reconciler.sources.config import load_settings as load
    from reconciler.sources.dotenv import load_dotenv

    settings = load(path)
    base = settings.config_file.parent if settings.config_file else Path.cwd()
    load_dotenv(base / ".env")
    return settings


def error(message: str) -> None:
    """`error: ...` on stderr (stdout stays the plan or the JSON document)."""
    print(f"error: {message}", file=sys.stderr)


def confirm() -> bool:
    if not sys.stdin.isatty():
        print("refusing to apply without confirmation: not a terminal (use --yes)", file=sys.stderr)
        return False
    try:
        answer = input("Do you want to perform these actions? Only 'yes' will be accepted: ")
    except EOFError:
        answer = ""
    if answer.strip() != "yes":
        print("\nApply cancelled.")
        return False
    return True
