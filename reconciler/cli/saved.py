"""Saved plans at the edge: `plan --out FILE` writes one, `apply FILE` checks it is not stale,
`show FILE` renders it. The format and the staleness test are pure (plan.saved)."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.cli.exit_codes import EXIT_ERROR, EXIT_OK
from reconciler.plan.saved import SavedOptions, SavedPlan, SavedPlanError, saved_from_dict

if TYPE_CHECKING:  # `show` reads a file only: it loads neither the engine nor the config
    from reconciler.engine import Planned, RunOptions
    from reconciler.settings import Settings


class StalePlan(RuntimeError):
    """The saved plan may not run (message: the reason)."""


def spec_digest(specs: Path) -> str:
    """sha256 over the tree's files as the loader sees them: sorted relative paths and bytes."""
    from reconciler.sources.tree import read_bounded, scan_tree

    digest = hashlib.sha256()
    files, _ = scan_tree(specs) if specs.is_dir() else ((), ())
    for file in files:
        data = read_bounded(file.real)
        rel = file.path.relative_to(specs).as_posix().encode()
        digest.update(len(rel).to_bytes(8, "big") + rel + len(data).to_bytes(8, "big") + data)
    return "sha256:" + digest.hexdigest()


def _reconciler_version() -> str:
    from reconciler.cli.parser import version_line

    return version_line().removeprefix("reconcile ")


def _revision(settings: Settings, args: argparse.Namespace) -> str | None:
    """The git commit the tree came from; None for a local specs dir (the digest covers it)."""
    return getattr(args, "spec_revision", None) if settings.git is not None else None


def saved_options(options: RunOptions) -> SavedOptions:
    return SavedOptions(
        targets=options.targets,
        prune=options.prune,
        allow_destructive=options.allow_destructive,
        allow_restart=options.allow_restart,
    )


def write_saved(
    settings: Settings, args: argparse.Namespace, planned: Planned, options: RunOptions
) -> SavedPlan:
    """Write `args.out` atomically (a temporary file beside it, then rename), mode 0600."""
    from reconciler.plan.saved import saved_to_json

    saved = SavedPlan(
        plan=planned.plan,
        revision=_revision(settings, args),
        spec_digest=spec_digest(settings.specs),
        created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        reconciler_version=_reconciler_version(),
        options=saved_options(options),
        notes=planned.notes,
    )
    target: Path = args.out
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or Path("."))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(saved_to_json(saved))
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return saved


def read_saved(path: Path) -> SavedPlan:
    """The saved plan in `path`; SavedPlanError names what is wrong (its version, a field)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise OSError(f"cannot read saved plan {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise SavedPlanError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from exc
    return saved_from_dict(doc)


def check_source(settings: Settings, args: argparse.Namespace, saved: SavedPlan) -> None:
    """Refuse (StalePlan) a plan made from another revision or another spec tree."""
    revision = _revision(settings, args)
    if revision != saved.revision:
        raise StalePlan(
            f"the specs revision differs: saved {saved.revision or '(local specs dir)'}, "
            f"now {revision or '(local specs dir)'}"
        )
    digest = spec_digest(settings.specs)
    if digest != saved.spec_digest:
        raise StalePlan(
            f"the spec tree changed since the plan was saved: digest {saved.spec_digest}, "
            f"now {digest}"
        )


def options_from_saved(saved: SavedPlan, apply: bool) -> RunOptions:
    from reconciler.engine import RunOptions

    o = saved.options
    return RunOptions(
        apply=apply,
        prune=o.prune,
        allow_destructive=o.allow_destructive,
        allow_restart=o.allow_restart,
        targets=o.targets,
    )


def stale(message: str) -> int:
    print(f"error: saved plan is stale: {message}", file=sys.stderr)
    return EXIT_ERROR


def cmd_show(args: argparse.Namespace) -> int:
    """`reconcile show FILE`: the saved plan through the same renderers as `plan`;
    `show ADDRESS --effective` is a spec instead (cli/effective.py)."""
    if args.effective:
        from reconciler.cli.effective import cmd_show_effective
        from reconciler.sources.effective import is_address

        if is_address(str(args.plan_file)) and args.output == "text":
            return cmd_show_effective(args)
        print(
            f"error: show {args.plan_file} --effective: --effective takes an address "
            "(container/NAME, table/NAMESPACE.NAME, policy/NAME) and --output text",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if not args.plan_file.exists() and _looks_like_address(str(args.plan_file)):
        print(
            f"error: {args.plan_file}: no such saved plan; for the spec with its Defaults "
            f"applied: reconcile show {args.plan_file} --effective",
            file=sys.stderr,
        )
        return EXIT_ERROR
    from reconciler.plan.saved import saved_to_json
    from reconciler.render import render_text
    from reconciler.render.markdown import render_plan_markdown

    try:
        saved = read_saved(args.plan_file)
    except (OSError, SavedPlanError) as exc:
        print(f"error: {args.plan_file}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.output == "json":
        print(saved_to_json(saved), end="")
    elif args.output == "markdown":
        print(render_plan_markdown(saved.plan, saved.notes, header_lines(saved)), end="")
    else:
        print("\n".join(header_lines(saved)).replace("`", "") + "\n")
        color = not args.no_color and not os.environ.get("NO_COLOR") and sys.stdout.isatty()
        print(render_text(saved.plan, color, saved.notes), end="")
    return EXIT_OK


def _looks_like_address(text: str) -> bool:
    from reconciler.sources.effective import is_address

    return is_address(text)


def header_lines(saved: SavedPlan) -> list[str]:
    revision = f"revision `{saved.revision}`" if saved.revision else "the local specs dir"
    scope = f", targets {', '.join(saved.options.targets)}" if saved.options.targets else ""
    return [
        f"Saved plan of {saved.created_at} (reconciler {saved.reconciler_version}), "
        f"from {revision}{scope}.",
        f"Spec tree digest `{saved.spec_digest}`.",
    ]
