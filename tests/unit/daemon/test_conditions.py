"""Named results and Flux-style conditions: pure rules, then `status` and `history` JSON over
a real store (SQLite in a temp dir), including a database made before reasons existed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from reconciler.daemon.record import cycle_record
from reconciler.daemon.status import history, status
from reconciler.report.conditions import (
    STALL_AFTER,
    CycleError,
    CycleResult,
    Entry,
    Reason,
    conditions,
    reason_of,
)
from reconciler.settings import Settings
from reconciler.store import Store


def _entry(result: str, at: int, reason: Reason | None = None, message: str = "") -> Entry:
    return Entry(result, reason or reason_of(result), message, f"t{at}")


def _by_type(found: tuple[object, ...]) -> dict[str, dict[str, object]]:
    return {d["type"]: d for d in (c.to_dict() for c in found)}  # type: ignore[attr-defined]


def test_ready_true_after_success_with_the_time_it_became_ready() -> None:
    found = _by_type(
        conditions([_entry("success", 3), _entry("success", 2), _entry("failed", 1)], running=True)
    )
    assert found == {
        "Ready": {
            "type": "Ready",
            "status": "True",
            "reason": "ReconciliationSucceeded",
            "message": "applied; nothing left to change",
            "lastTransitionTime": "t2",
        }
    }


def test_a_failure_is_ready_false_reconciling_and_after_repeats_stalled() -> None:
    failed = _entry("failed", 5, Reason.APPLY_FAILED, "container/a update: PVE 500")
    once = _by_type(conditions([failed, _entry("success", 4)], running=True))
    assert once["Ready"]["status"] == "False" and once["Ready"]["reason"] == "ApplyFailed"
    assert once["Ready"]["message"] == "container/a update: PVE 500"
    assert once["Reconciling"]["status"] == "True" and "Stalled" not in once
    repeated = [
        _entry("failed", STALL_AFTER - i, Reason.OBSERVE_FAILED, "observe failed")
        for i in range(STALL_AFTER)
    ]
    stalled = _by_type(conditions(repeated, running=False))
    assert (
        stalled["Stalled"]["status"] == "True" and stalled["Stalled"]["reason"] == "ObserveFailed"
    )
    assert f"{STALL_AFTER} cycles in a row failed" in str(stalled["Stalled"]["message"])
    assert "Reconciling" not in stalled  # the daemon is not running: nobody retries


def test_a_rejected_revision_is_not_ready_and_stalled_until_a_new_commit() -> None:
    found = _by_type(conditions([_entry("success", 2)], running=True, rejected="ab" * 20))
    assert found["Ready"]["status"] == "False" and found["Ready"]["reason"] == "SpecInvalid"
    assert found["Stalled"]["reason"] == "SpecInvalid"


def test_old_records_get_a_reason_from_their_result_never_from_their_text() -> None:
    assert reason_of("success") is Reason.SUCCEEDED
    assert reason_of("rejected") is Reason.SPEC_INVALID
    assert reason_of("failed", "SourceUnavailable") is Reason.SOURCE_FAILED
    assert reason_of("failed", "NoSuchReason") is Reason.APPLY_FAILED
    assert str(CycleError(Reason.BUSY, "held by pid 7")) == "held by pid 7"


def _settings(tmp_path: Path) -> Settings:
    return Settings(config_file=None, specs=tmp_path / "specs", state_dir=tmp_path / "state")


def test_status_and_history_json_keep_their_fields_and_add_reason_and_conditions(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    store = Store(settings.state_dir)
    store.record(cycle_record("start", 100.0, 101.0, "r1", CycleResult.SUCCESS))
    for i in range(STALL_AFTER):
        down = CycleError(Reason.SOURCE_FAILED, "source: connection refused")
        store.record(
            cycle_record("poll", 200.0 + i, 201.0 + i, "r1", CycleResult.FAILED, None, down)
        )
    doc = status(settings, now=300.0)
    assert doc["last_result"] == "failed" and doc["error"] == "source: connection refused"
    assert doc["reason"] == "SourceUnavailable"
    kinds = {c["type"]: c for c in doc["conditions"]}
    assert set(kinds) == {"Ready", "Stalled"}  # no heartbeat: not running, not reconciling
    assert kinds["Ready"]["lastTransitionTime"] == "1970-01-01T00:03:21.000+00:00"
    rows = history(settings, 2)
    assert [r["result"] for r in rows] == ["failed", "failed"]
    assert rows[0]["reason"] == "SourceUnavailable" and rows[0]["error"].startswith("source:")
    assert {c["type"] for c in rows[0]["conditions"]} == {"Ready", "Stalled"}  # sees older ones
    assert {c["type"] for c in rows[1]["conditions"]} == {"Ready"}  # 2 in a row: not yet


def test_a_database_made_before_reasons_gains_the_column_and_old_rows_a_reason(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    settings.state_dir.mkdir()
    db = sqlite3.connect(settings.state_dir / "history.sqlite3")
    db.execute(
        "CREATE TABLE cycles (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL,"
        " finished_at TEXT NOT NULL, seconds REAL NOT NULL, revision TEXT, trigger TEXT NOT NULL,"
        " result TEXT NOT NULL, summary TEXT NOT NULL, error TEXT)"
    )
    db.execute(
        "INSERT INTO cycles (started_at, finished_at, seconds, revision, trigger, result, summary,"
        " error) VALUES ('a', 'b', 1.0, 'r0', 'poll', 'rejected', '{}', 'invalid specs')"
    )
    db.commit()
    db.close()
    (row,) = history(settings, 5)
    assert row["reason"] == "SpecInvalid" and row["error"] == "invalid specs"
    assert [c["reason"] for c in row["conditions"]] == ["SpecInvalid", "SpecInvalid"]
