"""`reconcile plan | apply | maintain`: the engine's pipeline (plan_once, then apply_plan) with
rendering, confirmation and exit codes around it; `apply_and_report` serves `adopt` too."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from reconciler.cli.common import confirm, error
from reconciler.cli.exit_codes import EXIT_ERROR, EXIT_OK, apply_exit_code, plan_exit_code
from reconciler.deps import Deps
from reconciler.engine import NotPlanned, Planned, RunOptions, apply_plan, plan_once
from reconciler.settings import Settings

if TYPE_CHECKING:
    from reconciler.plan.saved import SavedPlan


def run_options(args: argparse.Namespace, command: str) -> RunOptions:
    """The engine's options from the command line (`maintain TABLE...` are targets too)."""
    return RunOptions(
        apply=command in ("apply", "maintain") and not (args.dry_run or args.sub_dry_run),
        prune=getattr(args, "prune", False),
        allow_destructive=getattr(args, "allow_destructive", False),
        allow_restart=getattr(args, "allow_restart", False),
        maintenance_only=command == "maintain",
        ignore_window=getattr(args, "now", False),
        ignore_backoff=getattr(args, "retry", False),
        targets=tuple(args.target) + tuple(getattr(args, "tables", []) or ()),
    )


def cmd_converge(settings: Settings, args: argparse.Namespace, command: str) -> int:
    from reconciler.render import render_json, render_text
    from reconciler.wiring import build_deps

    plan_file = getattr(args, "plan_file", None) if command == "apply" else None
    saved = None
    if plan_file is not None:
        saved, code = _load_saved(settings, args)
        if saved is None:
            return code
        from reconciler.cli.saved import options_from_saved

        options = options_from_saved(saved, apply=not (args.dry_run or args.sub_dry_run))
    else:
        options = run_options(args, command)
    deps = build_deps(settings)
    result = plan_once(settings, settings.specs, options, deps)
    planned = result.planned
    if planned is None:
        if result.reason is NotPlanned.INVALID_SPECS:
            print(result.error, file=sys.stderr)
        else:
            error(result.error or "no plan")
        return EXIT_ERROR
    if saved is not None:  # a plan made now must be the saved one, line for line
        from reconciler.cli.saved import stale
        from reconciler.plan.saved import stale_reason

        reason = stale_reason(saved, planned.plan)
        if reason is not None:
            return stale(reason)
        # What runs is the saved plan itself: its decoded lines with their operations.
        planned = replace(planned, plan=saved.plan)
    if getattr(args, "out", None) is not None and not _save(settings, args, planned, options):
        return EXIT_ERROR
    if options.prune and not settings.apply.allow_prune:
        print(
            "note: --prune deletes nothing: apply.allow_prune is not true in the config; "
            "orphans stay reported only",
            file=sys.stderr,
        )
    # Unknown lines (PVE or a catalog unreadable): the rest is planned and applied, exit 1.
    unreadable = EXIT_ERROR if planned.error else EXIT_OK
    if planned.error:
        error(planned.error)
    as_json = args.output == "json"
    runs = options.apply and bool(planned.plan.executable())
    if as_json and runs:  # one document: the plan plus what happened
        if command == "apply" and not args.yes:
            error("--output json needs --yes (no prompt in a machine-readable run)")
            return EXIT_ERROR
        return apply_and_report(settings, planned, options, deps, as_json, args) or unreadable
    color = not args.no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()
    code = (
        (unreadable or plan_exit_code(planned.plan))
        if not options.apply
        else apply_exit_code(planned.plan, (), bool(planned.error))
    )
    verbose = getattr(args, "verbose", 0) > 0
    if args.output == "markdown":
        from reconciler.render.markdown import render_plan_markdown

        print(render_plan_markdown(planned.plan, planned.notes), end="")
    else:
        print(
            render_json(planned.plan, planned.notes, code)
            if as_json
            else render_text(planned.plan, color, planned.notes, verbose=verbose),
            end="",
        )
    if getattr(args, "out", None) is not None:
        stream = sys.stdout if args.output == "text" else sys.stderr
        print(
            f"\nSaved the plan to: {args.out}\n"
            f"To perform exactly these actions, run: reconcile apply {args.out}",
            file=stream,
        )
    if not options.apply or not runs:
        return code
    if command == "apply" and not args.yes and not confirm():
        return EXIT_ERROR
    return apply_and_report(settings, planned, options, deps, as_json, args) or unreadable


def _load_saved(settings: Settings, args: argparse.Namespace) -> tuple[SavedPlan | None, int]:
    """The saved plan of `apply FILE` if its format, revision and spec tree still hold."""
    from reconciler.cli.saved import StalePlan, check_source, read_saved, stale
    from reconciler.plan.saved import SavedPlanError, SavedPlanVersionError

    given = [
        flag
        for flag, value in (
            ("--target", args.target),
            ("--prune", args.prune),
            ("--allow-destructive", args.allow_destructive),
            ("--allow-restart", args.allow_restart),
        )
        if value
    ]
    if given:
        error(f"apply FILE takes its options from the saved plan: drop {', '.join(given)}")
        return None, EXIT_ERROR
    try:
        saved = read_saved(args.plan_file)
        check_source(settings, args, saved)
    except SavedPlanVersionError as exc:
        return None, stale(f"{args.plan_file}: {exc}")
    except SavedPlanError as exc:  # hand-edited or truncated: not a plan, nothing runs
        error(f"{args.plan_file} is not a valid saved plan: {exc}")
        return None, EXIT_ERROR
    except StalePlan as exc:
        return None, stale(str(exc))
    except OSError as exc:
        error(str(exc))
        return None, EXIT_ERROR
    return saved, EXIT_OK


def _save(
    settings: Settings, args: argparse.Namespace, planned: Planned, options: RunOptions
) -> bool:
    """`plan --out FILE`; a plan with unknown lines is not saved (it could never be applied)."""
    from reconciler.cli.saved import write_saved

    if planned.error:
        error(f"not saving the plan to {args.out}: {planned.error}")
        return False
    try:
        write_saved(settings, args, planned, options)
    except OSError as exc:
        error(f"cannot write the plan to {args.out}: {exc}")
        return False
    return True


def apply_and_report(
    settings: Settings,
    planned: Planned,
    options: RunOptions,
    deps: Deps,
    as_json: bool,
    args: argparse.Namespace,
) -> int:
    """Apply a confirmed plan (the caller holds the cycle lock), record it in `history`,
    print the JSON document or the closing line; the exit code."""
    from reconciler.cli_history import record_cli_apply
    from reconciler.render.json_doc import render_apply_json
    from reconciler.render.outcomes import closing_line
    from reconciler.render.progress import ProgressPrinter

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    started = time.time()
    with ProgressPrinter(write) as progress:
        listener = None if as_json else progress
        report = apply_plan(settings, planned, options, replace(deps, listener=listener))
    record_cli_apply(  # in `history`, beside the daemon's cycles
        settings, report, args.argv, args.spec_revision, started, time.time()
    )
    code = apply_exit_code(planned.plan, report.outcomes, bool(planned.error or report.error))
    if as_json:
        print(render_apply_json(planned.plan, planned.notes, code, report.outcomes), end="")
    else:
        print("\n" + closing_line(planned.plan, report.outcomes))
    return code
