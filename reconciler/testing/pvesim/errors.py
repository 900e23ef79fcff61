"""Exceptions the simulator raises to produce PVE-shaped error answers; no I/O here."""

from __future__ import annotations

from collections.abc import Mapping


class ApiError(Exception):
    """An HTTP error answer: status, message (first line = reason phrase), optional errors map."""

    def __init__(self, status: int, message: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = dict(errors) if errors else None


def param_error(errors: Mapping[str, str]) -> ApiError:
    """400 raised by handlers through PVE's raise_param_exc."""
    return ApiError(400, "Parameter verification failed.", errors)


def perm_error(detail: str) -> ApiError:
    """403 as PVE's raise_perm_exc words it."""
    return ApiError(403, f"Permission check failed ({detail})")


def fail(message: str) -> ApiError:
    """500: what any plain `die` in a PVE handler becomes."""
    return ApiError(500, message)


class TaskFailure(Exception):
    """Raised inside a simulated worker; its text becomes the task exitstatus."""
