"""Resources that need nothing get a reason in both views, never a line in `changes`."""

from __future__ import annotations

import json

from reconciler.plan.change import Action, Change, Plan
from reconciler.render import render_json, render_text

NOTES = (
    ("table/lake.sales.orders", "3 data files under 32MiB; policy allows 50"),
    ("table/lake.raw.kafka_events", "table has no snapshot yet: nothing to maintain"),
)


def test_no_changes_still_says_why_nothing_is_due() -> None:
    text = render_text(Plan(), notes=NOTES)
    assert text.startswith("No changes.")
    assert text.splitlines()[1:] == [
        "",
        "Not due (no action needed):",
        "  = table/lake.raw.kafka_events: table has no snapshot yet: nothing to maintain",
        "  = table/lake.sales.orders: 3 data files under 32MiB; policy allows 50",
    ]
    doc = json.loads(render_json(Plan(), NOTES))
    assert doc["changes"] == [] and doc["summary"] == {"exit_code": 0}
    assert doc["notes"][1] == {
        "address": "table/lake.sales.orders",
        "action": "noop",
        "reason": "3 data files under 32MiB; policy allows 50",
    }


def test_notes_follow_the_summary_and_leave_the_plan_document_unchanged() -> None:
    plan = Plan((Change("container/minio", Action.UPDATE, "memory differs"),))
    text = render_text(plan, notes=NOTES[:1])
    assert text.index("Plan: ") < text.index("Not due")
    assert "notes" not in json.loads(render_json(plan))


def test_routine_notes_fold_into_one_line_unless_verbose() -> None:
    text = render_text(Plan(), notes=NOTES, verbose=False)
    assert text.splitlines()[1:] == ["", "2 tables healthy (maintenance not due); -v to list"]
    one = render_text(Plan(), notes=NOTES[:1], verbose=False)
    assert one.splitlines()[-1] == "1 table healthy (maintenance not due); -v to list"
