"""Plan types re-exported for convenience."""

from reconciler.plan.change import MAINTENANCE_ACTIONS, Action, Change, FieldChange, Plan

__all__ = ["MAINTENANCE_ACTIONS", "Action", "Change", "FieldChange", "Plan"]
