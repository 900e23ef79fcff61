"""`status` and `history` text: aligned columns, never Python's None."""

from __future__ import annotations

from reconciler.render.status_text import render_history, render_status


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
            "revision": None,
            "seconds": 0.5,
            "summary": {},
            "error": "observe failed: timeout",
        },
    ]
    lines = render_history(rows).splitlines()
    assert lines[0].split() == [
        "ID", "STARTED", "TRIGGER", "RESULT", "REVISION", "SECONDS", "CHANGES", "BY"
    ]  # fmt: skip
    assert lines[1].index("cli") == lines[2].index("timer") == lines[0].index("TRIGGER")
    assert "0123456789ab " in lines[1] and "1 refuse, 1 update" in lines[1]
    assert "ana@ops1: reconcile apply --yes" in lines[1]
    assert lines[3] == "    error: observe failed: timeout"
    assert "None" not in "\n".join(lines)
    assert render_history([]) == "No cycles recorded yet.\n"
