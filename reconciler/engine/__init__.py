"""One reconcile cycle: `plan_once` (load, validate, observe, diff) then `apply_plan`;
`reconcile_once` is both, for the daemon. Everything from outside comes through `Deps`."""

from reconciler.engine.pipeline import (
    NotPlanned,
    PlanResult,
    apply_plan,
    plan_once,
    reconcile_once,
)
from reconciler.engine.planning import (
    Planned,
    RunOptions,
    load,
    make_full_plan,
    unmatched_targets,
)

__all__ = [
    "NotPlanned",
    "PlanResult",
    "Planned",
    "RunOptions",
    "apply_plan",
    "load",
    "make_full_plan",
    "plan_once",
    "reconcile_once",
    "unmatched_targets",
]
