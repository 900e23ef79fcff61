"""structlog setup for the daemon: JSON lines under systemd, console otherwise; secrets masked."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

MASK = "***"
_SECRET_KEY = re.compile(
    r"token|secret|password|passwd|authorization|api[_-]?key|credential", re.IGNORECASE
)
_SECRET_IN_TEXT = re.compile(
    r"(?i)((?:token|secret|password|authorization)[\"']?\s*[:=]\s*[\"']?(?:basic |bearer )?)"
    r"[^\s\"',}]+"
)


# A header value is masked whole: `Authorization: token X` has its secret after a space.
_HEADER_IN_TEXT = re.compile(
    r"(?i)((?:proxy-)?authorization[\"']?\s*[:=]\s*|(?:x-[a-z0-9-]*(?:token|key|secret)[a-z0-9-]*)"
    r"[\"']?\s*[:=]\s*)[^\r\n\"',}]+"
)
_URL_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s\"']+@")


def mask_text(text: str) -> str:
    """Secrets inside free text (exception messages, git output): header values, URL
    credentials, `token=...` pairs."""
    text = _HEADER_IN_TEXT.sub(lambda m: m.group(1) + MASK, text)
    text = _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    return _SECRET_IN_TEXT.sub(
        lambda m: m.group(0) if m.group(0).endswith(MASK) else m.group(1) + MASK, text
    )


def _mask(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key) and not key.endswith("_env"):
        return MASK if value not in (None, "") else value
    if isinstance(value, Mapping):
        return {k: _mask(str(k), v) for k, v in value.items()}
    if isinstance(value, str):
        return mask_text(value)
    return value


def mask_secrets(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Processor: values of secret-looking keys (and `token=...` inside text) become ***."""
    for key in list(event):
        event[key] = _mask(str(key), event[key])
    return event


def under_systemd(env: Mapping[str, str] | None = None) -> bool:
    values = env if env is not None else os.environ
    return bool(values.get("JOURNAL_STREAM") or values.get("INVOCATION_ID"))


def configure_logging(json_lines: bool | None = None, level: int = logging.INFO) -> None:
    """Configure structlog once per process (contextvars carry cycle id, revision, address)."""
    as_json = under_systemd() if json_lines is None else json_lines
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if as_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # sys.stderr as it is when a line is written, not when logging was configured
        # (a replaced or closed stream must never swallow or break later log lines)
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    return structlog.PrintLogger(file=sys.stderr)


def log_action(logger: Any, event: str, change: Any, outcome: Any) -> None:
    """One executor event (start/retry/done) as a log line bound to the change's address."""
    bound = logger.bind(address=change.address, action=change.action.value)
    if event == "start":
        bound.info("action.start")
    elif outcome is not None:
        bound.info(f"action.{event}", status=outcome.status.value, message=outcome.message)
