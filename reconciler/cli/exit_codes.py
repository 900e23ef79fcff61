"""Exit codes of the CLI (plan, apply, maintain, adopt): a contract scripts rely on."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.plan.change import Action, Plan
from reconciler.plan.serialize import plan_exit_code
from reconciler.report.outcome import Outcome, Status

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_REFUSED = 0, 1, 2, 3
# Lines apply never carries out although desired and actual differ: they keep exit 3.
NOT_APPLIED = (Action.REFUSE, Action.ORPHAN, Action.CONFLICT)
_BAD = (Status.FAILED, Status.STALE, Status.SKIPPED)

__all__ = [
    "EXIT_CHANGES",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_REFUSED",
    "apply_exit_code",
    "plan_exit_code",
]


def apply_exit_code(plan: Plan, outcomes: Iterable[Outcome], error: bool = False) -> int:
    """1 something failed (or could not be read), 3 all allowed applied but refused/orphan/
    conflict lines remain, 0 everything planned was applied."""
    if error or plan.has_unknown or any(o.status in _BAD for o in outcomes):
        return EXIT_ERROR
    if any(c.action in NOT_APPLIED for c in plan.changes):
        return EXIT_REFUSED
    return EXIT_OK
