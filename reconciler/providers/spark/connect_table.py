"""One table's calls on a Spark Connect server, in order, in the table's own session.

Used by connect.ConnectApplication, which owns the sessions, the timeouts and the pool; here
only what one table holds while it runs and how its calls run and are recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from reconciler.providers.spark.application import TableJob
from reconciler.providers.spark.runner import ActionResult


class ConnectTable:
    """A table of the run: its job, its results so far, and whether it is done."""

    def __init__(self, index: int, job: TableJob, catalog: str) -> None:
        self.index = index
        self.job = job
        self.catalog = catalog
        self.tag = f"reconciler-{index}"
        self.results: dict[int, ActionResult] = {}
        self.next_call = 0
        self.started: float | None = None
        self.finished_at: float | None = None
        self.timed_out = False
        self.error: str | None = None  # the table never ran (unknown catalog, no session)
        self.session: Any = None  # the table's own Connect session while its calls run
        self.done = threading.Event()


def run_calls(
    table: ConnectTable,
    session: Any,
    clock: Callable[[], float],
    lock: threading.Lock,
    note: Callable[[str], None],
) -> None:
    """Run the table's calls in order in `session`, recording each; stop at the first that
    fails, or when the table was ended meanwhile (timed out: already reported)."""
    from reconciler.providers.spark.job_main import CONFLICT_MARKERS, _error_text, summarise

    for position, call in enumerate(table.job.calls):
        table.next_call = position
        started = clock()
        try:
            for key, value in call.session_conf:  # this table's session only
                session.conf.set(key, value)
            rows = [r.asDict(recursive=True) for r in session.sql(call.sql).collect()]
        except Exception as exc:  # reported per call; the next cycle retries
            if table.done.is_set():
                return  # timed out: already reported
            error = _error_text(exc)
            table.results[position] = ActionResult(
                call.action,
                ran=True,
                ok=False,
                error=error,
                conflict=any(m in error for m in CONFLICT_MARKERS),
                seconds=round(clock() - started, 3),
            )
            note(f"{table.job.key} {call.action.value} failed: {error}")
            return
        summary = summarise(call.action.value, rows)
        with lock:
            if table.done.is_set():
                return
            table.results[position] = ActionResult(
                call.action,
                ran=True,
                ok=True,
                result=tuple(sorted(summary.items())),
                seconds=round(clock() - started, 3),
            )
        note(f"{table.job.key} {call.action.value} ok {summary}")
    table.next_call = len(table.job.calls)
