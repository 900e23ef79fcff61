"""The `reconcile` argument parser: commands, flags, defaults and help texts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

_REVISION = "a commit of source.git to read (SHA, tag, BRANCH), not the daemon's revision"


def build_parser() -> argparse.ArgumentParser:
    """Every command, flag and default of `reconcile` (a contract: docs and scripts use them)."""
    parser = argparse.ArgumentParser(
        prog="reconcile",
        description="GitOps reconciler for a Proxmox + Iceberg data lake",
        # A prefix of a flag is an error, not that flag: `apply --out f` must not mean --output.
        allow_abbrev=False,
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config file (default ./reconciler.yaml, then /etc/reconciler/reconciler.yaml)",
    )
    parser.add_argument("--dry-run", action="store_true", help="same as `reconcile plan`")
    parser.add_argument("--version", action=_Version, help="show program's version number and exit")
    parser.add_argument(
        "--no-color", action="store_true", help="plain text even on a terminal (also NO_COLOR=1)"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="-v: info logs, -vv: debug logs (stderr)"
    )
    sub = parser.add_subparsers(dest="command", parser_class=_StrictParser)
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
        outputs = ("text", "json", "markdown") if name == "plan" else ("text", "json")
        cmd.add_argument("--output", choices=outputs, default="text")
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
            cmd.add_argument(
                "--out",
                type=Path,
                metavar="FILE",
                help="also save the plan to FILE (JSON plan format version 2) for `apply FILE`",
            )
        if name == "apply":
            cmd.add_argument(
                "plan_file",
                nargs="?",
                type=Path,
                metavar="FILE",
                help="apply exactly this saved plan (`plan --out FILE`), refused if stale",
            )
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
    unlock = sub.add_parser(
        "force-unlock", help="release a metastore lock a crashed writer left on a table"
    )
    unlock.add_argument("table", metavar="TABLE", help="CATALOG.NAMESPACE.TABLE")
    unlock.add_argument("lock_id", metavar="LOCK_ID", type=int, help="as the failed commit named")
    unlock.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    show = sub.add_parser(
        "show", help="render a saved plan (`plan --out FILE`), or a spec with --effective"
    )
    show.add_argument(
        "plan_file", type=Path, metavar="FILE|ADDRESS", help="a saved plan, or container/NAME ..."
    )
    show.add_argument("--output", choices=("text", "json", "markdown"), default="text")
    show.add_argument(
        "--effective",
        action="store_true",
        help="ADDRESS's spec with its Defaults applied, each value's file:line beside it",
    )
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
    backups = sub.add_parser("backups", help="a table's backups on its policy's target")
    backups.add_argument("table", metavar="TABLE", help="table address or name")
    backups.add_argument("--output", choices=("text", "json"), default="text")
    restore = sub.add_parser(
        "restore", help="restore a backup into a new table, or in place as a new snapshot"
    )
    restore.add_argument("table", metavar="TABLE", help="table address or name")
    restore.add_argument("--from", dest="backup", required=True, metavar="BACKUP", help="backup id")
    restore.add_argument(
        "--as",
        dest="as_table",
        metavar="NEW_TABLE",
        help="name of the new table (default <table>_restored_<id>); refused if it exists",
    )
    restore.add_argument(
        "--in-place",
        action="store_true",
        help="restore as a new snapshot of TABLE itself (asks for confirmation)",
    )
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    restore.add_argument("--output", choices=("text", "json"), default="text")
    report = sub.add_parser(
        "report", help="the lake as one self-contained HTML page (or JSON); exit 0 written"
    )
    report.add_argument("--output", choices=("html", "json"), default="html")
    report.add_argument("file", type=Path, metavar="FILE", help="where to write it (- : stdout)")
    report.add_argument("--revision", metavar="REF", help=_REVISION)
    return parser


class _StrictParser(argparse.ArgumentParser):
    """A subcommand's parser: flags are matched whole, never by unambiguous prefix."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)


class _Version(argparse.Action):
    """argparse's `version` action, but the version is read only when asked for: reading the
    package metadata costs every other command tens of milliseconds of start-up."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        print(version_line())
        parser.exit()


def version_line() -> str:
    """`reconcile 0.1.0` from the installed package's metadata."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"reconcile {version('datalake-reconciler')}"
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "reconcile 0.0.0+unknown"
