"""The machine views of a Plan and of an apply: the versioned JSON documents; formats only."""

from __future__ import annotations

import json
from collections.abc import Sequence

from reconciler.plan.change import JSONValue, Plan
from reconciler.plan.serialize import plan_to_dict, plan_to_json
from reconciler.report.outcome import Outcome, per_call


def render_json(
    plan: Plan, notes: Sequence[tuple[str, str]] = (), exit_code: int | None = None
) -> str:
    """Deterministic JSON (`format_version`, changes, summary, and `notes` for resources
    that need nothing, as {address, action: "noop", reason}); same plan, same bytes."""
    return plan_to_json(plan, notes, exit_code)


def render_apply_json(
    plan: Plan, notes: Sequence[tuple[str, str]], exit_code: int, outcomes: Sequence[Outcome]
) -> str:
    """The plan document plus what happened: `outcomes[]` (address, action, status, message,
    seconds, result) and `outcome_summary` (a count per status, sorted by status). Version 1
    shows a maintain line as its calls: its outcome is written as one per call, too."""
    doc = plan_to_dict(plan, notes, exit_code)
    outcomes = [call for outcome in outcomes for call in per_call(outcome)]
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
    doc["outcomes"] = [
        {
            "address": o.address,
            "action": o.action.value,
            "status": o.status.value,
            "message": o.message,
            "seconds": o.seconds,
            "result": dict(o.result),
        }
        for o in outcomes
    ]
    summary: dict[str, JSONValue] = dict(sorted(counts.items()))
    doc["outcome_summary"] = summary
    return json.dumps(doc, indent=2) + "\n"


def render_document(doc: object, *, newline: bool = True) -> str:
    """A status or history document as the CLI prints it (`indent=2`)."""
    return json.dumps(doc, indent=2) + ("\n" if newline else "")
