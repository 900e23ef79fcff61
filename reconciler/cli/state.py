"""`reconcile daemon | status | history | drift`: the daemon and what it recorded."""

from __future__ import annotations

import argparse
import sys

from reconciler.cli.common import error
from reconciler.cli.exit_codes import EXIT_ERROR, EXIT_OK
from reconciler.settings import Settings


def cmd_state(settings: Settings, args: argparse.Namespace, command: str) -> int:
    if command == "daemon":
        return _daemon(settings)
    if command == "status":
        from reconciler.daemon.status import status
        from reconciler.render.json_doc import render_document
        from reconciler.render.status_text import render_status

        doc = status(settings)
        as_json = args.output == "json"
        print(render_document(doc, newline=False) if as_json else render_status(doc), end="")
        return EXIT_OK
    if command == "history":
        from reconciler.daemon.status import history
        from reconciler.render.json_doc import render_document
        from reconciler.render.status_text import render_history

        rows = history(settings, args.n)
        print(render_document(rows) if args.output == "json" else render_history(rows), end="")
        return EXIT_OK
    from reconciler.daemon.status import DriftUnavailable, drift

    try:
        print(drift(settings, args.output, getattr(args, "revision", None)), end="")
    except DriftUnavailable as exc:
        error(str(exc))
        return EXIT_ERROR
    return EXIT_OK


def _daemon(settings: Settings) -> int:
    from reconciler.wiring import MissingExtra, require_extra

    try:  # a base install: name the extra instead of an ImportError traceback
        for module in ("git", "watchdog", "prometheus_client"):
            require_extra(module, "daemon", "The daemon")
    except MissingExtra as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    from reconciler.daemon.loop import run_daemon

    return run_daemon(settings)
