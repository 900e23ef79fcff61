"""Apply progress: start, periodic still-applying lines, done; never interleaved."""

from __future__ import annotations

import time

from reconciler.plan.change import Action, Change
from reconciler.render.progress import ProgressPrinter
from reconciler.report.outcome import Outcome, Status


def test_long_changes_tick_and_finished_ones_stop_ticking() -> None:
    lines: list[str] = []
    slow = Change("container/minio", Action.CREATE, "absent")
    quick = Change("container/kafka", Action.UPDATE, "drift")
    with ProgressPrinter(lines.append, every=0.05) as progress:
        progress("start", slow, None)
        progress("start", quick, None)
        progress("done", quick, Outcome(quick.address, quick.action, Status.APPLIED, seconds=0.01))
        time.sleep(0.3)
        progress("done", slow, Outcome(slow.address, slow.action, Status.APPLIED, "created", 0.3))
        ticks_at_done = sum("still applying" in line for line in lines)
        time.sleep(0.15)
    assert lines[0] == "container/minio (create): applying...\n"
    assert "container/kafka (update): applied in 0.0s\n" in lines
    assert lines[-1] == "container/minio (create): applied in 0.3s - created\n"
    ticks = [line for line in lines if "still applying" in line]
    assert ticks and all(
        line.startswith("container/minio (create): still applying... [") for line in ticks
    )
    assert sum("still applying" in line for line in lines) == ticks_at_done
