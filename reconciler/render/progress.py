"""Apply progress lines, Terraform-style: start, `still applying... [10s elapsed]`, done.

Writes through an injected function; one lock so lines from parallel changes never
interleave. A ticker thread reports changes that run longer than `every` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from reconciler.plan.change import Action, Change
from reconciler.report.outcome import Outcome, per_call


class ProgressPrinter:
    """An executor listener (apply.executor.Listener) that also ticks while changes run."""

    def __init__(self, write: Callable[[str], None], every: float = 10.0) -> None:
        self._write = write
        self._every = every
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str], float] = {}
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)

    def __enter__(self) -> ProgressPrinter:
        self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._ticker.join(timeout=2)

    def __call__(self, event: str, change: Change, outcome: Outcome | None) -> None:
        key = (change.address, change.action.value)
        label = f"{change.address} ({change.action.value})"
        if event == "start":
            with self._lock:
                self._running[key] = time.monotonic()
            awaited = dict(change.options).get("awaited") if change.action is Action.AWAIT else None
            self._emit(f"{label}: waiting for {awaited}..." if awaited else f"{label}: applying...")
        elif event == "retry" and outcome is not None:
            self._emit(f"{label}: retrying after: {outcome.message}")
        elif event == "done" and outcome is not None:
            with self._lock:
                self._running.pop(key, None)
            calls = per_call(outcome) if change.action is Action.MAINTAIN else (outcome,)
            listed = calls != (outcome,)  # a maintain line: each call's result beneath
            extra = f" - {outcome.message}" if outcome.message and not listed else ""
            self._emit(f"{label}: {outcome.status.value} in {outcome.seconds:.1f}s{extra}")
            for call in calls if listed else ():
                more = f" - {call.message}" if call.message else ""
                self._emit(
                    f"  {call.action.value}: {call.status.value} in {call.seconds:.1f}s{more}"
                )

    def _emit(self, line: str) -> None:
        with self._lock:
            self._write(line + "\n")

    def _tick(self) -> None:
        while not self._stop.wait(self._every):
            now = time.monotonic()
            with self._lock:
                lines = [
                    f"{address} ({action}): still applying... [{now - started:.0f}s elapsed]"
                    for (address, action), started in sorted(self._running.items())
                    if now - started >= self._every
                ]
            for line in lines:
                self._emit(line)
