"""`reconcile adopt ADDRESS...`: like `terraform import`, only marks the named resources ours."""

from __future__ import annotations

import argparse
import sys

from reconciler.cli.common import confirm, error
from reconciler.cli.converge import apply_and_report
from reconciler.cli.exit_codes import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, EXIT_REFUSED
from reconciler.engine import RunOptions, load
from reconciler.settings import Settings


def cmd_adopt(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 0 when every named resource is ours afterwards."""
    from reconciler.adoption import make_adoption_plan, unknown_targets
    from reconciler.render import render_json, render_text
    from reconciler.wiring import build_deps

    desired, problem = load(settings.specs, settings)
    if desired is None:
        print(problem, file=sys.stderr)
        return EXIT_ERROR
    unknown = unknown_targets(args.addresses, desired)
    if unknown:
        error(f"no spec names {', '.join(unknown)}; nothing adopted")
        return EXIT_ERROR
    deps = build_deps(settings)
    try:
        planned = make_adoption_plan(desired, tuple(args.addresses), deps)
    except Exception as exc:  # unreachable API / catalog: a clear one-line error
        error(f"observe failed: {exc}")
        return EXIT_ERROR
    plan, as_json = planned.plan, args.output == "json"
    runs = bool(plan.executable()) and not args.dry_run
    not_adopted = (
        EXIT_ERROR
        if plan.has_unknown
        else EXIT_REFUSED
        if len(plan.changes) > len(plan.executable())
        else EXIT_OK
    )
    apply = RunOptions(apply=True)
    if as_json and runs:  # one document: the plan plus what happened
        if not args.yes:
            error("--output json needs --yes (no prompt in a machine-readable run)")
            return EXIT_ERROR
        return apply_and_report(settings, planned, apply, deps, True, args) or not_adopted
    if as_json:
        dry_code = EXIT_CHANGES if plan.executable() else not_adopted
        print(render_json(plan, planned.notes, dry_code if args.dry_run else not_adopted), end="")
    else:
        print(render_text(plan) if plan.changes else "Nothing to adopt.\n", end="")
        if planned.notes:
            print("\nAlready managed by the reconciler:")
            print(
                "".join(f"  = {address}: {reason}\n" for address, reason in planned.notes), end=""
            )
    if args.dry_run:
        return EXIT_CHANGES if plan.executable() else not_adopted
    if runs and not args.yes and not confirm():
        return EXIT_ERROR
    return (
        apply_and_report(settings, planned, apply, deps, False, args) if runs else EXIT_OK
    ) or not_adopted
