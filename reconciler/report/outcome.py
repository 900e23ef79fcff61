"""Results of applying a plan, returned as values (never raised); pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from reconciler.plan.change import Action, JSONValue, Plan
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
