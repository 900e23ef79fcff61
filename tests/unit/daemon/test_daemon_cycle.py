"""Daemon.cycle on a fake clock with real parts (file lock, store, a specs directory): a held
lock is Busy and records nothing; an invalid revision is rejected with its named reason;
the watchdog's heartbeat on the same clock."""

from __future__ import annotations

from pathlib import Path

from reconciler.daemon.lock import cycle_lock
from reconciler.daemon.loop import Daemon
from reconciler.daemon.notify import Heartbeat
from reconciler.daemon.status import history, status
from reconciler.report.conditions import CycleResult
from reconciler.settings import Settings

BROKEN = """\
apiVersion: reconciler.gti.local/v1
kind: Container
metadata: {name: broken}
spec: {vmid: 101, cores: lots}
"""


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _daemon(tmp_path: Path, clock: Clock) -> Daemon:
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    (specs / "broken.yaml").write_text(BROKEN)
    settings = Settings(config_file=None, specs=specs, state_dir=tmp_path / "state")
    return Daemon(settings, env={}, clock=clock, wait=lambda seconds: None)


def test_a_cycle_while_another_holds_the_lock_is_busy_and_records_nothing(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path, Clock(1_700_000_000.0))
    with cycle_lock(daemon.settings.state_dir, wait=False):  # e.g. `reconcile apply`
        assert daemon.cycle("webhook") == (CycleResult.BUSY, False)
    assert history(daemon.settings, 5) == []
    assert daemon.retry is None  # busy is not a failure: no backoff scope


def test_an_invalid_revision_is_rejected_with_its_reason_at_the_clocks_time(
    tmp_path: Path,
) -> None:
    clock = Clock(1_700_000_000.0)
    daemon = _daemon(tmp_path, clock)
    assert daemon.cycle("start") == (CycleResult.REJECTED, False)
    (entry,) = history(daemon.settings, 5)
    assert entry["result"] == "rejected" and entry["reason"] == "SpecInvalid"
    assert entry["started_at"] == "2023-11-14T22:13:20.000+00:00"  # the injected clock
    assert "broken.yaml" in entry["error"]
    doc = status(daemon.settings, now=clock.now)
    assert doc["last_result"] == "rejected" and doc["rejected_revision"] == daemon.rejected
    conditions = {c["type"]: c for c in doc["conditions"]}
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Stalled"]["reason"] == "SpecInvalid"
    assert daemon.cycle("poll") == (CycleResult.IDLE, False)  # the same revision: not again
    assert len(history(daemon.settings, 5)) == 1


def test_the_heartbeat_lives_for_its_allowance_on_the_injected_clock() -> None:
    clock = Clock(100.0)
    heart = Heartbeat(2.0, clock=clock)
    clock.now = 101.9
    assert heart.alive()
    clock.now = 102.0
    assert not heart.alive()  # a stalled loop: the watchdog pings stop
    heart.beat(600.0)  # a cycle may be silent for its longest bounded step
    clock.now = 701.9
    assert heart.alive()
    heart.beat()  # progress keeps the cycle's allowance
    clock.now = 1301.0
    assert heart.alive()
