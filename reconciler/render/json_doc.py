"""The machine view of a Plan: the versioned JSON document; formats only."""

from __future__ import annotations

from reconciler.plan.change import Plan
from reconciler.plan.serialize import plan_to_json


def render_json(plan: Plan) -> str:
    """Deterministic JSON (`format_version`, changes, summary); same plan, same bytes."""
    return plan_to_json(plan)
