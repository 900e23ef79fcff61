"""Records CLI applies (`apply`, `maintain`, `adopt`) in the history the daemon's cycles use."""

from __future__ import annotations

import getpass
import os
import re
import socket
from collections.abc import Sequence
from dataclasses import replace

from reconciler.daemon.record import cycle_record
from reconciler.plan.change import Action
from reconciler.report.conditions import CycleResult
from reconciler.report.outcome import CycleReport, Status
from reconciler.settings import Settings
from reconciler.store import Store

TRIGGER = "cli"
# Options whose value could be a secret; none exists today, but a future one must not leak.
_SECRET = re.compile(r"--?[A-Za-z0-9-]*(token|secret|password|passwd|key)[A-Za-z0-9-]*(=.*)?")


def redact_argv(argv: Sequence[str]) -> str:
    """`reconcile apply --yes`: the command line with any secret-looking value replaced."""
    out: list[str] = ["reconcile"]
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append("***")
            hide_next = False
        elif _SECRET.fullmatch(arg):
            name, eq, _ = arg.partition("=")
            out.append(f"{name}=***" if eq else name)
            hide_next = not eq
        else:
            out.append(arg)
    return " ".join(out)


def who() -> tuple[str, str]:
    """(user, host); SUDO_USER names the person behind `sudo reconcile apply`."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    sudo = os.environ.get("SUDO_USER")
    if sudo and sudo != user:
        user = f"{sudo} (as {user})"
    return user, socket.gethostname()


def result_of(report: CycleReport) -> CycleResult:
    """success | failed | refused: the same classes as the apply exit codes."""
    if report.error or any(
        o.status in (Status.FAILED, Status.STALE, Status.SKIPPED) for o in report.outcomes
    ):
        return CycleResult.FAILED
    if any(c.action is Action.REFUSE for c in report.plan.changes):
        return CycleResult.REFUSED
    return CycleResult.SUCCESS


def record_cli_apply(
    settings: Settings,
    report: CycleReport,
    argv: Sequence[str],
    revision: str | None,
    started: float,
    finished: float,
) -> int | None:
    """Write one history entry for a CLI apply; its id, or None when the store is unwritable
    (the apply already happened: a full disk must not turn it into a failure)."""
    user, host = who()
    record = replace(
        cycle_record(TRIGGER, started, finished, revision, result_of(report), report),
        user=user,
        host=host,
        command=redact_argv(argv),
    )
    try:
        return Store(settings.state_dir).record(record)
    except Exception:
        return None
