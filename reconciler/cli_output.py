"""Exit codes and closing lines of the CLI (plan, apply, maintain, adopt) and `--version`."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.plan.change import Action, Plan
from reconciler.plan.serialize import plan_exit_code
from reconciler.report.outcome import Outcome, Status

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_REFUSED = 0, 1, 2, 3
# Lines apply never carries out although desired and actual differ: they keep exit 3.
NOT_APPLIED = (Action.REFUSE, Action.ORPHAN, Action.CONFLICT)
_BAD = (Status.FAILED, Status.STALE, Status.SKIPPED)

__all__ = ["apply_exit_code", "closing_line", "plan_exit_code", "plural", "version_line"]


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 container`, `2 containers` (`many` for irregular plurals)."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def apply_exit_code(plan: Plan, outcomes: Iterable[Outcome], error: bool = False) -> int:
    """1 something failed (or could not be read), 3 all allowed applied but refused/orphan/
    conflict lines remain, 0 everything planned was applied."""
    if error or plan.has_unknown or any(o.status in _BAD for o in outcomes):
        return EXIT_ERROR
    if any(c.action in NOT_APPLIED for c in plan.changes):
        return EXIT_REFUSED
    return EXIT_OK


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
    ):
        if lines[action]:
            parts.append(f"{lines[action]} {label}")
    return "Apply complete! " + (", ".join(parts) or "0 applied") + "."


def version_line() -> str:
    """`reconcile 0.1.0` from the installed package's metadata."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"reconcile {version('datalake-reconciler')}"
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "reconcile 0.0.0+unknown"
