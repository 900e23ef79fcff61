"""The versioned JSON plan document (the contract users' scripts read); pure."""

from __future__ import annotations

import json
from collections.abc import Sequence

from reconciler.plan.change import Change, JSONValue, Plan

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


def plan_to_dict(plan: Plan, notes: Sequence[tuple[str, str]] = ()) -> dict[str, JSONValue]:
    doc: dict[str, JSONValue] = {
        "format_version": FORMAT_VERSION,
        "changes": [change_to_dict(c) for c in plan.changes],
        "summary": dict(plan.summary()),
    }
    if notes:
        doc["notes"] = [{"address": a, "action": "noop", "reason": r} for a, r in sorted(notes)]
    return doc


def plan_to_json(plan: Plan, notes: Sequence[tuple[str, str]] = ()) -> str:
    """Deterministic bytes: same plan, same text."""
    return (
        json.dumps(plan_to_dict(plan, notes), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    )
