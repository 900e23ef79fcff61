"""`reconcile show ADDRESS --effective`: one spec with its Defaults applied, value by value."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from reconciler.cli.common import load_settings
from reconciler.cli.exit_codes import EXIT_ERROR, EXIT_OK


def _display(path: str) -> str:
    """A file name relative to the working directory when it is below it (shorter comments)."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else path
    except (OSError, ValueError):
        return path


def cmd_show_effective(args: argparse.Namespace) -> int:
    """Print the effective spec of `args.plan_file` (an address) from the config's specs dir;
    its problems go to stderr and make the exit code 1, the YAML is printed all the same."""
    from reconciler.sources.effective import NoSuchSpec, find_effective, render_effective

    address = str(args.plan_file)
    try:
        settings = load_settings(args.config)
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        spec = find_effective(settings.specs, address)
    except NoSuchSpec as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(render_effective(spec, _display), end="")
    for problem in spec.errors:
        print(str(replace(problem, file=_display(problem.file))), file=sys.stderr)
    return EXIT_ERROR if spec.errors else EXIT_OK
