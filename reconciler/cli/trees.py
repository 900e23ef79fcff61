"""Which specs tree a command reads: the daemon's revision in force, `--revision REF`, or DIR."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from reconciler.cli.exit_codes import EXIT_ERROR
from reconciler.settings import Settings


def run_in_tree(
    settings: Settings,
    args: argparse.Namespace,
    argv: Sequence[str] | None,
    run: Callable[[Settings], int],
) -> int:
    """`run` with settings whose `specs` is the tree in force; remembers (on `args`) the
    command line and revision that CLI applies record in history."""
    from reconciler.sources.revision import source_errors, specs_tree

    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with specs_tree(settings, getattr(args, "revision", None)) as tree:
            if tree.message:
                print(tree.message, file=sys.stderr)  # stderr: --output json stays one document
            args.spec_revision = tree.revision
            if getattr(args, "revision", None) is not None:  # `plan --revision`: an export
                return _with_user_paths(lambda: run(tree.settings), tree.settings.specs, settings)
            return run(tree.settings)
    except source_errors(settings) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def validate_in_tree(
    args: argparse.Namespace,
    load: Callable[[Path | None], Settings],
    validate: Callable[[Path | None], int],
) -> int:
    """`validate` without a DIR reads the daemon's revision when source.git is configured."""
    from reconciler.sources.revision import source_errors, specs_tree

    ref = getattr(args, "revision", None)
    if args.dir is not None and ref is None:
        return validate(args.dir)
    try:
        settings = load(args.config)
    except Exception:  # validate itself reports the config's problems
        return validate(args.dir)
    if settings.git is None and ref is None:
        return validate(args.dir)
    try:
        with specs_tree(settings, ref) as tree:
            if tree.message:
                print(tree.message, file=sys.stderr)
            export = tree.settings.specs
            return _with_user_paths(lambda: validate(export), export, settings)
    except source_errors(settings) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _with_user_paths(run: Callable[[], int], export: Path, settings: Settings) -> int:
    """Run a read-only command on a private export; its messages name the repository's paths
    (`specs/w.yaml:3`), not the temporary directory."""
    import contextlib
    import io

    assert settings.git is not None
    root = settings.git.path.strip("/") or "."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run()
    for text, stream in ((out.getvalue(), sys.stdout), (err.getvalue(), sys.stderr)):
        stream.write(text.replace(f"{export}/", f"{root}/").replace(str(export), root))
    return code
