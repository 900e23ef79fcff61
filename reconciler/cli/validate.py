"""`reconcile validate [DIR]`: the config and the specs checked in one pass."""

from __future__ import annotations

import sys
from pathlib import Path

from reconciler.cli.common import load_settings
from reconciler.cli.exit_codes import EXIT_ERROR, EXIT_OK
from reconciler.settings import Settings


def cmd_validate(config: Path | None, directory: Path | None) -> int:
    """Config and specs in one pass: every problem of both, `file:line: path: message`."""
    from reconciler.sources import LoadResult, SpecError, load_desired, load_for
    from reconciler.sources.config import ConfigError

    problems: list[SpecError] = []
    result: LoadResult | None = None
    try:
        settings: Settings | None = load_settings(config)
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
    for problem in problems:
        print(str(problem), file=sys.stderr)
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
