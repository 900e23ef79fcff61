"""The `reconcile` command line: parses arguments, calls the engine, renders, sets the exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from reconciler.cli_output import (
    EXIT_REFUSED,
    apply_exit_code,
    closing_line,
    plan_exit_code,
    version_line,
)
from reconciler.deps import Deps
from reconciler.engine import RunOptions, load, make_full_plan, unmatched_targets
from reconciler.settings import Settings

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
_REVISION = "a commit of source.git to read (SHA, tag, BRANCH), not the daemon's revision"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reconcile", description="GitOps reconciler for a Proxmox + Iceberg data lake"
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config file (default ./reconciler.yaml, then /etc/reconciler/reconciler.yaml)",
    )
    parser.add_argument("--dry-run", action="store_true", help="same as `reconcile plan`")
    parser.add_argument("--version", action="version", version=version_line())
    parser.add_argument(
        "--no-color", action="store_true", help="plain text even on a terminal (also NO_COLOR=1)"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="-v: info logs, -vv: debug logs (stderr)"
    )
    sub = parser.add_subparsers(dest="command")
    validate = sub.add_parser("validate", help="check specs; exit 0 valid, 1 invalid")
    validate.add_argument("dir", nargs="?", type=Path)
    validate.add_argument("--revision", metavar="REF", help=_REVISION)
    helps = {
        "plan": "show what would change; exit 0 none, 2 changes, 1 error",
        "apply": "plan, confirm, then converge; exit 0 done, 1 failed, 3 refused lines remain",
        "maintain": "table maintenance only (Spark), for cron or Airflow (exit codes as apply)",
    }
    for name in ("plan", "apply", "maintain"):
        cmd = sub.add_parser(name, help=helps[name])
        cmd.add_argument("--output", choices=("text", "json"), default="text")
        cmd.add_argument(
            "--target", action="append", default=[], help="limit to an address (repeatable)"
        )
        cmd.add_argument(
            "--dry-run", dest="sub_dry_run", action="store_true", help="plan only, change nothing"
        )
        if name != "maintain":
            cmd.add_argument(
                "--prune",
                action="store_true",
                help="delete owned resources absent from specs (config must allow it)",
            )
            cmd.add_argument(
                "--allow-destructive",
                action="store_true",
                help="run destructive lines the spec opts into",
            )
        if name in ("plan", "apply"):
            cmd.add_argument(
                "--allow-restart",
                action="store_true",
                help="reboot containers whose values are pending, even where `restart` is "
                "manual or outside its window (use with --target)",
            )
        if name == "plan":
            cmd.add_argument("--revision", metavar="REF", help=_REVISION)
        if name == "apply":
            cmd.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        if name == "maintain":
            cmd.add_argument("tables", nargs="*", help="table names or addresses")
            cmd.add_argument("--now", action="store_true", help="ignore maintenance windows")
            cmd.add_argument(
                "--retry",
                action="store_true",
                help="run tables that back off after failed maintenance now",
            )
    adopt = sub.add_parser("adopt", help="mark existing unowned resources a spec names as managed")
    adopt.add_argument("addresses", nargs="+", metavar="ADDRESS", help="e.g. container/minio")
    adopt.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    adopt.add_argument("--output", choices=("text", "json"), default="text")
    sub.add_parser("daemon", help="run continuously (systemd Type=notify)")
    status = sub.add_parser("status", help="the daemon's current revision and last result")
    status.add_argument("--output", choices=("text", "json"), default="text")
    history = sub.add_parser("history", help="recorded cycles, newest first")
    history.add_argument("-n", type=int, default=20)
    history.add_argument("--output", choices=("text", "json"), default="text")
    drift = sub.add_parser("drift", help="every difference between specs and reality, with its age")
    drift.add_argument(
        "--output", "--format", dest="output", choices=("text", "json", "markdown"), default="text"
    )
    drift.add_argument("--revision", metavar="REF", help=_REVISION)
    return parser


def _configure_logs(verbose: int, daemon: bool) -> None:
    import logging

    from reconciler.daemon.logs import configure_logging

    levels = (logging.INFO if daemon else logging.WARNING, logging.INFO, logging.DEBUG)
    configure_logging(json_lines=None, level=levels[min(verbose, 2)])


def _settings(path: Path | None) -> Settings:
    """The config, then the `.env` beside it (or in the working directory without one)."""
    from reconciler.sources.config import load_settings
    from reconciler.sources.dotenv import load_dotenv

    settings = load_settings(path)
    base = settings.config_file.parent if settings.config_file else Path.cwd()
    load_dotenv(base / ".env")
    return settings


def _cmd_validate(config: Path | None, directory: Path | None) -> int:
    """Config and specs in one pass: every problem of both, `file:line: path: message`."""
    from reconciler.sources import LoadResult, SpecError, load_desired, load_for
    from reconciler.sources.config import ConfigError

    problems: list[SpecError] = []
    result: LoadResult | None = None
    try:
        settings: Settings | None = _settings(config)
    except ConfigError as exc:  # still check the specs, without the config's catalogs
        problems.extend(exc.errors)
        settings = None
    except Exception as exc:  # e.g. a .env with loose permissions
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    target = directory or (settings.specs if settings is not None else None)
    if target is not None:
        result = load_desired(target) if settings is None else load_for(settings, target)
        problems.extend(result.errors)
    for error in problems:
        print(str(error), file=sys.stderr)
    if problems or result is None or result.desired is None:
        where = f" in {target}" if settings is not None else ""
        unchecked = "" if target is not None else "; specs not checked (the config is invalid)"
        count = len(problems)
        print(f"{count} problem{'' if count == 1 else 's'}{where}{unchecked}", file=sys.stderr)
        return EXIT_ERROR
    desired = result.desired
    print(
        f"{target}: valid ({len(desired.containers)} containers, {len(desired.tables)} tables, "
        f"{len(desired.policies)} policies)"
    )
    return EXIT_OK


def _confirm() -> bool:
    if not sys.stdin.isatty():
        print("refusing to apply without confirmation: not a terminal (use --yes)", file=sys.stderr)
        return False
    try:
        answer = input("Do you want to perform these actions? Only 'yes' will be accepted: ")
    except EOFError:
        answer = ""
    if answer.strip() != "yes":
        print("\nApply cancelled.")
        return False
    return True


def _run(settings: Settings, args: argparse.Namespace, command: str) -> int:
    from reconciler.render import render_json, render_text
    from reconciler.wiring import build_deps

    desired, error = load(settings.specs, settings)
    if desired is None:
        print(error, file=sys.stderr)
        return EXIT_ERROR
    targets = tuple(args.target) + tuple(getattr(args, "tables", []) or ())
    unknown = unmatched_targets(desired, targets)
    if unknown:
        print(f"error: no spec matches {', '.join(unknown)}", file=sys.stderr)
        return EXIT_ERROR
    options = RunOptions(
        apply=command in ("apply", "maintain") and not (args.dry_run or args.sub_dry_run),
        prune=getattr(args, "prune", False),
        allow_destructive=getattr(args, "allow_destructive", False),
        allow_restart=getattr(args, "allow_restart", False),
        maintenance_only=command == "maintain",
        ignore_window=getattr(args, "now", False),
        ignore_backoff=getattr(args, "retry", False),
        targets=targets,
    )
    if options.prune and not settings.apply.allow_prune:
        print(
            "note: --prune deletes nothing: apply.allow_prune is not true in the config; "
            "orphans stay reported only",
            file=sys.stderr,
        )
    deps = build_deps(settings)
    try:
        planned = make_full_plan(settings, desired, options, deps)
    except Exception as exc:  # unreachable API / catalog: a clear one-line error
        print(f"error: observe failed: {exc}", file=sys.stderr)
        return EXIT_ERROR
    # Unknown lines (PVE or a catalog unreadable): the rest is planned and applied, exit 1.
    unreadable = EXIT_ERROR if planned.error else EXIT_OK
    if planned.error:
        print(f"error: {planned.error}", file=sys.stderr)
    as_json = args.output == "json"
    runs = options.apply and bool(planned.plan.executable())
    if as_json and runs:  # one document: the plan plus what happened
        if command == "apply" and not args.yes:
            print(
                "error: --output json needs --yes (no prompt in a machine-readable run)",
                file=sys.stderr,
            )
            return EXIT_ERROR
        return _apply(settings, planned, options, deps, as_json, args) or unreadable
    notes = planned.notes
    color = not args.no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()
    code = (
        (unreadable or plan_exit_code(planned.plan))
        if not options.apply
        else apply_exit_code(planned.plan, (), bool(planned.error))
    )
    verbose = getattr(args, "verbose", 0) > 0
    print(
        render_json(planned.plan, notes, code)
        if as_json
        else render_text(planned.plan, color, notes, verbose=verbose),
        end="",
    )
    if not options.apply or not runs:
        return code
    if command == "apply" and not args.yes and not _confirm():
        return EXIT_ERROR
    return _apply(settings, planned, options, deps, as_json, args) or unreadable


def _apply(
    settings: Settings,
    planned: object,
    options: RunOptions,
    deps: Deps,
    as_json: bool,
    args: argparse.Namespace,
) -> int:
    from dataclasses import replace

    from reconciler.cli_history import record_cli_apply
    from reconciler.engine import Planned, apply_plan
    from reconciler.render.progress import ProgressPrinter

    assert isinstance(planned, Planned)

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    started = time.time()
    with ProgressPrinter(write) as progress:  # the caller holds the cycle lock
        report = apply_plan(
            settings, planned, options, replace(deps, listener=None if as_json else progress)
        )
    record_cli_apply(  # in `history`, beside the daemon's cycles
        settings, report, args.argv, args.spec_revision, started, time.time()
    )
    counts: dict[str, int] = {}
    for outcome in report.outcomes:
        counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
    code = apply_exit_code(planned.plan, report.outcomes, bool(planned.error or report.error))
    if as_json:
        from reconciler.plan.serialize import plan_to_dict

        doc = plan_to_dict(planned.plan, planned.notes, code)
        doc["outcomes"] = [
            {
                "address": o.address,
                "action": o.action.value,
                "status": o.status.value,
                "message": o.message,
                "seconds": o.seconds,
                "result": dict(o.result),
            }
            for o in report.outcomes
        ]
        doc["outcome_summary"] = dict(sorted(counts.items()))
        print(json.dumps(doc, indent=2))
    else:
        print("\n" + closing_line(planned.plan, report.outcomes))
    return code


def _cmd_adopt(settings: Settings, args: argparse.Namespace) -> int:
    """Like `terraform import`: only marks the named resources as ours; exit 0 when all are."""
    from reconciler.adoption import make_adoption_plan, unknown_targets
    from reconciler.render import render_json, render_text
    from reconciler.wiring import build_deps

    desired, error = load(settings.specs, settings)
    if desired is None:
        print(error, file=sys.stderr)
        return EXIT_ERROR
    unknown = unknown_targets(args.addresses, desired)
    if unknown:
        print(f"error: no spec names {', '.join(unknown)}; nothing adopted", file=sys.stderr)
        return EXIT_ERROR
    deps = build_deps(settings)
    try:
        planned = make_adoption_plan(desired, tuple(args.addresses), deps)
    except Exception as exc:  # unreachable API / catalog: a clear one-line error
        print(f"error: observe failed: {exc}", file=sys.stderr)
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
    if as_json and runs:  # one document: the plan plus what happened
        if not args.yes:
            print(
                "error: --output json needs --yes (no prompt in a machine-readable run)",
                file=sys.stderr,
            )
            return EXIT_ERROR
        return _apply(settings, planned, RunOptions(apply=True), deps, True, args) or not_adopted
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
    if runs and not args.yes and not _confirm():
        return EXIT_ERROR
    return (
        _apply(settings, planned, RunOptions(apply=True), deps, False, args) if runs else EXIT_OK
    ) or not_adopted


def main(argv: Sequence[str] | None = None) -> int:
    """The entry point; a reader that closes the pipe early (`| head`) ends it quietly."""
    try:
        code = _main(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Python's documented idiom: point stdout at devnull so the exit flush cannot fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # like a shell pipeline whose reader went away (128 + SIGPIPE)


def _main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or ("plan" if args.dry_run else None)
    if command is None:
        _parser().print_help()
        return EXIT_ERROR
    _configure_logs(args.verbose, daemon=command == "daemon")
    if args.command is None:
        args.output, args.target, args.prune, args.allow_destructive = "text", [], False, False
        args.sub_dry_run = False
    if command == "validate":
        from reconciler.cli_specs import validate_in_tree

        return validate_in_tree(args, _settings, lambda d: _cmd_validate(args.config, d))
    try:
        settings = _settings(args.config)
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if command in ("plan", "apply", "maintain", "adopt"):  # the daemon's revision with git
        from reconciler.cli_specs import run_in_tree

        if command == "plan":
            return run_in_tree(settings, args, argv, lambda s: _run(s, args, command))
        return run_in_tree(settings, args, argv, lambda s: _locked(s, args, command))
    return _run_daemon_command(settings, args, command)


def _locked(settings: Settings, args: argparse.Namespace, command: str) -> int:
    """Writing commands hold the cycle lock from observation to the last change, so the
    plan a person confirms is the plan that runs (the daemon cannot act in between)."""
    from reconciler.daemon.lock import LockBusy, cycle_lock

    run = _cmd_adopt if command == "adopt" else lambda s, a: _run(s, a, command)
    if args.dry_run or getattr(args, "sub_dry_run", False):
        return run(settings, args)
    try:
        with cycle_lock(settings.state_dir, wait=False):
            return run(settings, args)
    except LockBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _run_daemon_command(settings: Settings, args: argparse.Namespace, command: str) -> int:
    if command == "daemon":
        from reconciler.wiring import MissingExtra, require_extra

        try:  # a base install: name the extra instead of an ImportError traceback
            for module in ("git", "watchdog", "prometheus_client"):
                require_extra(module, "daemon", "The daemon")
        except MissingExtra as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        from reconciler.daemon.loop import run_daemon

        return run_daemon(settings)
    if command == "status":
        from reconciler.daemon.status import status
        from reconciler.render.status_text import render_status

        doc = status(settings)
        print(json.dumps(doc, indent=2) if args.output == "json" else render_status(doc), end="")
        return EXIT_OK
    if command == "history":
        from reconciler.daemon.status import history

        rows = history(settings, args.n)
        from reconciler.render.status_text import render_history

        if args.output == "json":
            print(json.dumps(rows, indent=2))
        else:
            print(render_history(rows), end="")
        return EXIT_OK
    from reconciler.daemon.status import DriftUnavailable, drift

    try:
        print(drift(settings, args.output, getattr(args, "revision", None)), end="")
    except DriftUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
