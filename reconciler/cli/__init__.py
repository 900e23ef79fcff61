"""The `reconcile` command line: parses arguments, runs one command, sets the exit code.

parser.py holds every flag; one module per command family (validate, converge for plan /
apply / maintain, adopt, state for daemon / status / history / drift) calls the engine.
Everything past the parser is imported inside the command that needs it, so `--help` loads
argparse and the parser only, and no command loads an SDK it does not use (start-up time).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reconciler.cli.parser import build_parser

if TYPE_CHECKING:
    import argparse

    from reconciler.settings import Settings

__all__ = ["build_parser", "main"]


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
    args = build_parser().parse_args(argv)  # --help and --version end here
    from reconciler.cli.common import configure_logs, load_settings
    from reconciler.cli.exit_codes import EXIT_ERROR

    command = args.command or ("plan" if args.dry_run else None)
    if command is None:
        build_parser().print_help()
        return EXIT_ERROR
    configure_logs(args.verbose, daemon=command == "daemon")
    if args.command is None:
        args.output, args.target, args.prune, args.allow_destructive = "text", [], False, False
        args.sub_dry_run = False
    if command == "validate":
        from reconciler.cli.trees import validate_in_tree
        from reconciler.cli.validate import cmd_validate

        return validate_in_tree(args, load_settings, lambda d: cmd_validate(args.config, d))
    if command == "show":  # a saved plan alone: no config, no API
        from reconciler.cli.saved import cmd_show

        return cmd_show(args)
    try:
        settings = load_settings(args.config)
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if command in ("plan", "apply", "maintain", "adopt"):  # the daemon's revision with git
        from reconciler.cli.converge import cmd_converge
        from reconciler.cli.trees import run_in_tree

        if command == "plan":
            return run_in_tree(settings, args, argv, lambda s: cmd_converge(s, args, command))
        return run_in_tree(settings, args, argv, lambda s: _locked(s, args, command))
    if command in ("backups", "restore"):
        from reconciler.cli.backups import cmd_backups, cmd_restore
        from reconciler.cli.trees import run_in_tree

        run = cmd_backups if command == "backups" else cmd_restore
        return run_in_tree(settings, args, argv, lambda s: run(s, args))
    if command == "force-unlock":
        from reconciler.cli.unlock import cmd_force_unlock

        return cmd_force_unlock(settings, args)
    if command == "report":
        from reconciler.cli.report import cmd_report

        return cmd_report(settings, args)
    from reconciler.cli.state import cmd_state

    return cmd_state(settings, args, command)


def _locked(settings: Settings, args: argparse.Namespace, command: str) -> int:
    """Writing commands hold the cycle lock from observation to the last change, so the
    plan a person confirms is the plan that runs (the daemon cannot act in between)."""
    from reconciler.cli.adopt import cmd_adopt
    from reconciler.cli.converge import cmd_converge
    from reconciler.cli.exit_codes import EXIT_ERROR
    from reconciler.daemon.lock import LockBusy, cycle_lock

    def run(s: Settings) -> int:
        return cmd_adopt(s, args) if command == "adopt" else cmd_converge(s, args, command)

    if args.dry_run or getattr(args, "sub_dry_run", False):
        return run(settings)
    try:
        with cycle_lock(settings.state_dir, wait=False):
            return run(settings)
    except LockBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
