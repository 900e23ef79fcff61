"""The versioned JSON plan document (the contract users' scripts read); pure.

Format version 1 predates the maintain line: a maintain line is written as its per-call
lines (one per procedure, as before), with the summary counted the same way, so the same
plan gives the same bytes as before. The saved plan (version 2) keeps it one line."""

from __future__ import annotations

import json
from collections.abc import Sequence

from reconciler.plan.change import Action, Change, JSONValue, Plan
from reconciler.plan.maintenance_ops import expand_all

FORMAT_VERSION = "1"


def change_to_dict(change: Change) -> dict[str, JSONValue]:
    doc: dict[str, JSONValue] = {
        "address": change.address,
        "action": change.action.value,
        "fields": [{"path": f.path, "before": f.before, "after": f.after} for f in change.fields],
        "reason": change.reason,
    }
    if change.options:
        doc["options"] = dict(change.options)
    if change.depends_on:
        doc["depends_on"] = list(change.depends_on)
    return doc


def plan_exit_code(plan: Plan) -> int:
    """`plan`'s exit code: 1 an `unknown` line, 2 apply would change something or a line
    shows desired != actual (refuse, orphan, conflict), 0 otherwise (deferred lines alone)."""
    if plan.has_unknown:
        return 1
    if any(c.action is not Action.DEFERRED for c in plan.changes):
        return 2
    return 0


def plan_to_dict(
    plan: Plan, notes: Sequence[tuple[str, str]] = (), exit_code: int | None = None
) -> dict[str, JSONValue]:
    """`summary` holds a count per action plus `exit_code` (the command's exit status)."""
    lines = Plan(expand_all(plan.changes))  # version 1: one line per procedure call
    summary: dict[str, JSONValue] = dict(lines.summary())
    summary["exit_code"] = plan_exit_code(plan) if exit_code is None else exit_code
    doc: dict[str, JSONValue] = {
        "format_version": FORMAT_VERSION,
        "changes": [change_to_dict(c) for c in lines.changes],
        "summary": summary,
    }
    if notes:
        doc["notes"] = [{"address": a, "action": "noop", "reason": r} for a, r in sorted(notes)]
    return doc


def plan_to_json(
    plan: Plan, notes: Sequence[tuple[str, str]] = (), exit_code: int | None = None
) -> str:
    """Deterministic bytes: same plan, same text."""
    doc = plan_to_dict(plan, notes, exit_code)
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
