"""The closing line of an apply, from its plan and outcomes; formats only."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.plan.change import Action, Plan
from reconciler.report.outcome import Outcome


def closing_line(plan: Plan, outcomes: Iterable[Outcome]) -> str:
    """`Apply complete! 2 applied, 3 refused (not applied).`"""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
    parts = [f"{n} {s}" for s, n in sorted(counts.items())]
    lines = {a: sum(c.action is a for c in plan.changes) for a in Action}
    for action, label in (
        (Action.REFUSE, "refused (not applied)"),
        (Action.ORPHAN, "orphaned (reported only)"),
        (Action.CONFLICT, "in conflict (not ours, not touched)"),
        (Action.DEFERRED, "deferred"),
        (Action.UNKNOWN, "unknown (could not be read)"),
        (Action.UNREADY, "unready (reported only)"),
    ):
        if lines[action]:
            parts.append(f"{lines[action]} {label}")
    return "Apply complete! " + (", ".join(parts) or "0 applied") + "."
