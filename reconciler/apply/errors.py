"""Errors an Applier raises; the executor turns them into Outcomes (kopf-style)."""

from __future__ import annotations


class ApplyError(Exception):
    """Base: something went wrong applying one change."""


class TransientError(ApplyError):
    """Worth retrying after `delay` seconds (lock timeouts, CT is locked, 5xx, 596)."""

    def __init__(self, message: str, delay: float = 1.0) -> None:
        super().__init__(message)
        self.delay = delay


class PermanentError(ApplyError):
    """Retrying within this cycle will not help; reported, retried next cycle."""


class PreconditionFailed(ApplyError):
    """The world changed since the plan (digest, schema id): re-plan, never overwrite."""
