"""`status` and `history` text: aligned columns, never Python's None."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.render.status_text import render_history, render_status
from reconciler.report.conditions import Entry, Reason, conditions

DAEMON_MD = Path(__file__).resolve().parents[3] / "docs" / "daemon.md"


def test_status_aligns_values_and_says_never_or_dash_for_null() -> None:
    text = render_status(
        {
            "daemon": "not running (stale heartbeat)",
            "daemon_running": False,
            "heartbeat_at": None,
            "last_result": "success",
            "last_result_historical": True,
            "error": None,
            "failing_maintenance": [{"address": "table/lake.sales.orders", "failures": 3}],
        }
    )
    assert "None" not in text
    lines = text.splitlines()
    assert lines[1] == "heartbeat_at:        never"
    assert lines[2] == "last_result:         success (historical: the daemon is not running)"
    assert lines[3] == "error:               -"
    assert lines[-2:] == ["failing_maintenance: 1", "  table/lake.sales.orders: failures=3"]
    # every value starts in one column
    assert len({len(line) - len(line.split(":", 1)[1].lstrip()) for line in lines[:-1]}) == 1


def test_history_is_one_aligned_row_per_cycle() -> None:
    rows = [
        {
            "id": 12,
            "started_at": "2026-12-01T10:00:00Z",
            "trigger": "cli",
            "result": "refused",
            "reason": "ChangesRefused",
            "revision": "0123456789abcdef",
            "seconds": 1.25,
            "summary": {"update": 1, "refuse": 1},
            "user": "ana",
            "host": "ops1",
            "command": "reconcile apply --yes",
            "error": None,
        },
        {
            "id": 11,
            "started_at": "2026-12-01T09:00:00Z",
            "trigger": "timer",
            "result": "failed",
            "reason": "ObserveFailed",
            "revision": None,
            "seconds": 0.5,
            "summary": {},
            "error": "observe failed: timeout",
        },
    ]
    lines = render_history(rows).splitlines()
    assert lines[0].split() == [
        "ID", "STARTED", "TRIGGER", "RESULT", "REASON", "REVISION", "SECONDS", "CHANGES", "BY"
    ]  # fmt: skip
    assert lines[1].index("cli") == lines[2].index("timer") == lines[0].index("TRIGGER")
    assert "0123456789ab " in lines[1] and "1 refuse, 1 update" in lines[1]
    assert "ana@ops1: reconcile apply --yes" in lines[1]
    assert lines[1].index("ChangesRefused") == lines[2].index("ObserveFailed")
    assert lines[3] == "    error: observe failed: timeout"
    assert "None" not in "\n".join(lines)
    assert render_history([]) == "No cycles recorded yet.\n"


def test_status_shows_each_condition_with_its_reason_below_a_summary() -> None:
    conditions = [
        {
            "type": "Ready",
            "status": "False",
            "reason": "ApplyFailed",
            "message": "container/a update: PVE 500: unable to hotplug memory",
            "lastTransitionTime": "2026-12-01T10:00:00.000+00:00",
        },
        {
            "type": "Stalled",
            "status": "True",
            "reason": "ApplyFailed",
            "message": "3 cycles in a row failed; retrying with backoff",
            "lastTransitionTime": "2026-12-01T10:05:00.000+00:00",
        },
    ]
    text = render_status({"last_result": "failed", "conditions": conditions})
    lines = text.splitlines()
    assert lines[1] == "conditions:          Ready=False, Stalled=True"
    assert lines[2] == (
        "  Ready=False   ApplyFailed  since 2026-12-01T10:00:00.000+00:00: "
        "container/a update: PVE 500: unable to hotplug memory"
    )
    assert lines[3].startswith("  Stalled=True  ApplyFailed  since 2026-12-01T10:05:00")
    assert lines[4] == "failing_maintenance: none"


def _fence(text: str, after: str, lang: str) -> str:
    start = text.index(f"```{lang}\n", text.index(after)) + len(lang) + 4
    return text[start : text.index("```", start)]


def test_the_conditions_example_in_the_docs_is_what_the_code_makes_and_shows() -> None:
    text = DAEMON_MD.read_text()
    doc = json.loads(_fence(text, "three cycles that could not fetch", "json"))
    message = "source: connection refused"
    history = [
        Entry("failed", Reason.SOURCE_FAILED, message, f"2026-12-01T10:00:{s}.000+00:00")
        for s in ("40", "20", "05")
    ]
    made = [c.to_dict() for c in conditions(history, running=True)]
    assert made == doc["conditions"]
    shown = render_status({"conditions": made}).splitlines()[:-1]
    assert shown == _fence(text, "as a summary line and one line each", "text").splitlines()
