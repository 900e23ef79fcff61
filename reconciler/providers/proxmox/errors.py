"""Classify PVE API failures into the apply error classes; pure, no SDK import.

Policy: lock timeouts, locked configs, lost quorum, proxy statuses (595-599)
and connection failures are transient. A 500 whose text we know to be a
logic error (shrink, exists, protection, ...) is permanent, and so is every
4xx. An unknown 500 is treated as transient: retrying a permanent error a
few times costs little, giving up on a transient one fails the change.
"""

from __future__ import annotations

import re

from reconciler.apply.errors import ApplyError, PermanentError, PreconditionFailed, TransientError

_STALE = re.compile(r"detected modified configuration", re.IGNORECASE)
_TRANSIENT = re.compile(
    r"can't lock file|got timeout|is locked|no quorum|cluster not ready|"
    r"connection (?:timed out|refused|reset)|no route to host|temporarily unavailable",
    re.IGNORECASE,
)
_PERMANENT = re.compile(
    r"unable to shrink disk size|disk is already at specified size|already exists|"
    r"does not exist|protection mode enabled|already running|not running|"
    r"unable to modify read-only option|unable to delete required option|no options specified|"
    r"storage '[^']*' (?:does not|is not|is disabled)|mount points configured|"
    r"permission check failed|not implemented|unknown option|parameter verification failed",
    re.IGNORECASE,
)
_PROXY_STATUSES = frozenset({595, 596, 597, 598, 599})


class PveTransientError(TransientError):
    """A retryable PVE failure, with the HTTP status (0 for network errors)."""

    def __init__(self, message: str, status: int = 0, delay: float = 1.0) -> None:
        super().__init__(message, delay)
        self.status = status


class PvePermanentError(PermanentError):
    """A PVE failure retrying will not fix."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class PvePreconditionFailed(PreconditionFailed):
    """PVE's digest check failed: the config changed since it was read."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


def classify_http(status: int, message: str) -> ApplyError:
    """HTTP status + PVE message line -> the error the caller should raise."""
    text = f"PVE {status}: {message}".strip()
    if _STALE.search(message):
        return PvePreconditionFailed(text, status)
    if status in _PROXY_STATUSES:
        return PveTransientError(text, status, delay=2.0)
    if _TRANSIENT.search(message):
        return PveTransientError(text, status)
    if status < 500 or status == 501 or _PERMANENT.search(message):
        return PvePermanentError(text, status)
    return PveTransientError(text, status)


def classify_task(exitstatus: str, upid: str, log_tail: str) -> ApplyError:
    """A failed worker's exitstatus -> transient (locks) or permanent, with its log tail."""
    text = f"task {upid} failed: {exitstatus}"
    if log_tail:
        text += f"\n{log_tail}"
    if _TRANSIENT.search(exitstatus):
        return PveTransientError(text, 0)
    return PvePermanentError(text, 0)


def is_missing(error: BaseException) -> bool:
    """PVE's answer for a CT that is not on that node (500, not 404)."""
    return "does not exist" in str(error)


def is_already_exists(error: BaseException) -> bool:
    return "already exists" in str(error)
