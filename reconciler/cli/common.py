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


def ask_yes(prompt: str, refusal: str) -> bool:
    """True when a person at a terminal types `yes`; off a terminal, `refusal` is printed
    (e.g. "refusing to apply without confirmation") and nothing is asked."""
    if not sys.stdin.isatty():
        error(f"{refusal}: not a terminal (use --yes)")
        return False
    try:
        answer = input(f"{prompt} Only 'yes' will be accepted: ")
    except EOFError:
        answer = ""
    return answer.strip() == "yes"


def confirm() -> bool:
    if not ask_yes(
        "Do you want to perform these actions?", "refusing to apply without confirmation"
    ):
        if sys.stdin.isatty():
            print("\nApply cancelled.")
        return False
    return True
