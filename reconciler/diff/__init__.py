"""Pure differs: desired vs observed -> plan Changes, ordered by the planner; no I/O."""

from reconciler.diff.containers import diff_container, plan_containers
from reconciler.diff.planner import PlanOptions, make_plan, order_changes

__all__ = ["PlanOptions", "diff_container", "make_plan", "order_changes", "plan_containers"]
