"""Results of applying a plan, returned as values (never raised); pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from reconciler.plan.change import Action, Change, JSONValue, Plan
from reconciler.report.conditions import CycleError


class Status(str, Enum):
    APPLIED = "applied"
    FAILED = "failed"  # transient or permanent error; retried next cycle
    SKIPPED = "skipped"  # a dependency failed, or the line never executes
    STALE = "stale"  # a precondition no longer held: re-plan, nothing overwritten


@dataclass(frozen=True)
class Outcome:
    address: str
    action: Action
    status: Status
    message: str = ""
    seconds: float = 0.0
    result: tuple[tuple[str, JSONValue], ...] = ()  # e.g. a Spark procedure's result row


def combine(change: Change, calls: Sequence[Outcome]) -> Outcome:
    """A maintain line's Outcome from its calls' (in order): APPLIED if all applied, else
    the first other status with a message naming that call and the calls not run."""
    record: list[JSONValue] = [
        {
            "procedure": c.action.value,
            "status": c.status.value,
            "message": c.message,
            "seconds": c.seconds,
            "result": dict(c.result),
        }
        for c in calls
    ]
    result: tuple[tuple[str, JSONValue], ...] = (("calls", record),)
    seconds = round(sum(c.seconds for c in calls), 3)
    bad = next((c for c in calls if c.status is not Status.APPLIED), None)
    if bad is None:
        message = "; ".join(f"{c.action.value}: {c.message}" for c in calls)
        return Outcome(change.address, change.action, Status.APPLIED, message, seconds, result)
    message = bad.message
    if not message.startswith(bad.action.value):
        message = f"{bad.action.value}: {message}"
    skipped = [c.action.value for c in calls if c.status is Status.SKIPPED]
    if skipped:
        message += f" (not run: {', '.join(skipped)})"
    return Outcome(change.address, change.action, bad.status, message, seconds, result)


def per_call(outcome: Outcome) -> tuple[Outcome, ...]:
    """A maintain line's Outcome as one Outcome per call (history, backoff, metrics and
    progress keep per-procedure records); any other Outcome as is."""
    calls = dict(outcome.result).get("calls")
    if outcome.action is not Action.MAINTAIN or not isinstance(calls, list):
        return (outcome,)
    out: list[Outcome] = []
    for call in calls:
        if not isinstance(call, dict):
            continue
        result = call.get("result")
        seconds = call.get("seconds")
        out.append(
            Outcome(
                outcome.address,
                Action(str(call.get("procedure"))),
                Status(str(call.get("status"))),
                str(call.get("message", "")),
                float(seconds) if isinstance(seconds, int | float) else 0.0,
                tuple(result.items()) if isinstance(result, dict) else (),
            )
        )
    return tuple(out) or (outcome,)


@dataclass(frozen=True)
class CycleReport:
    """One pass of the pipeline: what was planned and what happened."""

    plan: Plan
    outcomes: tuple[Outcome, ...] = ()
    revision: str | None = None
    error: CycleError | None = None  # a step failed before apply: reason and message

    @property
    def failed(self) -> bool:
        return self.error is not None or any(
            o.status in (Status.FAILED, Status.STALE) for o in self.outcomes
        )
