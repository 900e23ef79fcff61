"""Named cycle results and reasons, and Flux-style conditions (Ready / Reconciling / Stalled)
computed from them; pure: the history records and the clock come in as data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from reconciler.plan.change import JSONValue

STALL_AFTER = 3  # consecutive failed cycles after which the daemon is Stalled


class CycleResult(StrEnum):
    """What one cycle came to; the `result` field of history and status (a contract)."""

    SUCCESS = "success"
    FAILED = "failed"
    REJECTED = "rejected"  # the revision's specs do not validate; the last good one stays
    REFUSED = "refused"  # CLI applies only: the plan holds refused lines
    BUSY = "busy"  # another process held the cycle lock; never recorded
    IDLE = "idle"  # nothing to do (no new revision, no timer due); never recorded


class Scope(StrEnum):
    """What a failed cycle's backoff timer re-runs."""

    FULL = "full"  # plan and apply everything
    DRIFT = "drift"  # re-plan and heal drift only


class Reason(StrEnum):
    """Why a cycle ended as it did (CamelCase, as Flux spells its reasons)."""

    SUCCEEDED = "ReconciliationSucceeded"
    PROGRESSING = "Progressing"
    APPLY_FAILED = "ApplyFailed"
    SPEC_INVALID = "SpecInvalid"
    SOURCE_FAILED = "SourceUnavailable"
    OBSERVE_FAILED = "ObserveFailed"
    INTERRUPTED = "Interrupted"
    INTERNAL_ERROR = "InternalError"
    REFUSED = "ChangesRefused"
    TARGETS_UNMATCHED = "TargetsUnmatched"  # CLI only: a --target names no spec
    BUSY = "Busy"
    RETRYING = "RetryingWithBackoff"


@dataclass(frozen=True)
class CycleError:
    """A cycle's failure: the named reason and the message for people."""

    reason: Reason
    message: str

    def __str__(self) -> str:
        return self.message


_BY_RESULT = {
    CycleResult.SUCCESS.value: Reason.SUCCEEDED,
    CycleResult.REJECTED.value: Reason.SPEC_INVALID,
    CycleResult.REFUSED.value: Reason.REFUSED,
}


def reason_of(result: str, reason: str | None = None) -> Reason:
    """A history record's reason; records made before reasons existed get one from their
    result (their error text is never parsed)."""
    if reason is not None and reason in set(Reason):
        return Reason(reason)
    return _BY_RESULT.get(result, Reason.APPLY_FAILED)


@dataclass(frozen=True)
class Condition:
    """One Kubernetes-style condition; `to_dict` spells the fields as Flux does."""

    type: str  # Ready | Reconciling | Stalled
    status: bool
    reason: Reason
    message: str
    last_transition_time: str | None

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "type": self.type,
            "status": "True" if self.status else "False",
            "reason": self.reason.value,
            "message": self.message,
            "lastTransitionTime": self.last_transition_time,
        }


@dataclass(frozen=True)
class Entry:
    """The part of a history record the conditions need, newest first in a sequence."""

    result: str
    reason: Reason
    message: str
    finished_at: str


def _transition(history: Sequence[Entry], same: bool) -> str | None:
    """When Ready last changed: the oldest record of the newest run of equal readiness."""
    at = history[0].finished_at if history else None
    for item in history:
        if (item.result == CycleResult.SUCCESS) != same:
            break
        at = item.finished_at
    return at


def conditions(
    history: Sequence[Entry], *, running: bool, rejected: str | None = None
) -> tuple[Condition, ...]:
    """Ready / Reconciling / Stalled from the newest records (newest first).

    Ready (always there) follows the last cycle, and is False while the newest commit
    (`rejected`) is refused. Stalled: a rejected revision waits for a new commit, or
    STALL_AFTER cycles in a row failed (retried with backoff, not converging).
    Reconciling: the daemon runs and retries a failure. As in Flux, the abnormal-true
    conditions are listed only while True.
    """
    if not history:
        waiting = Condition("Ready", False, Reason.PROGRESSING, "no cycle has finished yet", None)
        if not running:
            return (waiting,)
        return (waiting, Condition("Reconciling", True, Reason.PROGRESSING, "first cycle", None))
    last = history[0]
    ready = last.result == CycleResult.SUCCESS and rejected is None
    since = _transition(history, ready)
    failures = next(
        (i for i, item in enumerate(history) if item.result == CycleResult.SUCCESS), len(history)
    )
    if rejected is not None:
        refused = f"revision {rejected[:12]} is rejected; the last good revision stays in force"
        return (
            Condition("Ready", False, Reason.SPEC_INVALID, refused, since),
            Condition("Stalled", True, Reason.SPEC_INVALID, "waiting for a new commit", since),
        )
    message = "applied; nothing left to change" if ready else last.message or last.result
    out = [Condition("Ready", ready, last.reason, message, since)]
    if failures >= STALL_AFTER:
        out.append(
            Condition(
                "Stalled",
                True,
                last.reason,
                f"{failures} cycles in a row failed; retrying with backoff",
                history[failures - STALL_AFTER].finished_at,  # the third in a row
            )
        )
    if running and not ready:
        out.append(Condition("Reconciling", True, Reason.RETRYING, "the next cycle retries", since))
    return tuple(out)
