"""The machine view of a Plan: the versioned JSON document; formats only."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.plan.change import Plan
from reconciler.plan.serialize import plan_to_json


def render_json(
    plan: Plan, notes: Sequence[tuple[str, str]] = (), exit_code: int | None = None
) -> str:
    """Deterministic JSON (`format_version`, changes, summary, and `notes` for resources
    that need nothing, as {address, action: "noop", reason}); same plan, same bytes."""
    return plan_to_json(plan, notes, exit_code)
