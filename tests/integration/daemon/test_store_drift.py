"""SQLite history on disk and the drift report built from it (since, commit, renderers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.daemon.record import cycle_record, pending_by_kind
from reconciler.plan.change import Action, Change, FieldChange, Plan
from reconciler.render.markdown import render_drift_markdown, render_drift_text
from reconciler.report.drift import drift_keys, drift_to_dict, make_drift_report
from reconciler.report.outcome import CycleReport, Outcome, Status
from reconciler.store import Store

MEM = Change(
    "container/minio",
    Action.UPDATE,
    "memory differs",
    (FieldChange("memory", "1GiB", "2GiB"), FieldChange("cores", 1, 2)),
)
NEW = Change("table/lake.sales.orders", Action.CREATE, "table missing")
COMPACT = Change("table/lake.sales.orders", Action.REWRITE_DATA_FILES, "60 data files under 32MiB")
LATER = Change("table/lake.ops.events", Action.DEFERRED, "expire_snapshots due; outside the window")
LOCKED = Change("container/minio", Action.DEFERRED, "CT 101 is locked (backup)")


def _cycle(store: Store, at: int, plan: Plan, result: str = "success") -> None:
    report = CycleReport(plan=plan, outcomes=(), revision="r1")
    start = 1_700_000_000.0 + at * 60
    store.record(cycle_record("drift", start, start + 1, "r1", result, report))


def test_history_roundtrip_across_connections(tmp_path: Path) -> None:
    store = Store(tmp_path)
    report = CycleReport(
        plan=Plan((MEM, NEW)),
        outcomes=(
            Outcome("container/minio", Action.UPDATE, Status.APPLIED, "", 0.5),
            Outcome("table/lake.sales.orders", Action.CREATE, Status.FAILED, "boom", 1.0),
        ),
        revision="abc",
    )
    store.record(cycle_record("webhook", 100.0, 103.5, "abc", "failed", report))
    store.put(good_revision="abc", pending_drift=1)

    again = Store(tmp_path)  # a second process opening the same file
    (cycle,) = again.cycles(5)
    assert (cycle.revision, cycle.trigger, cycle.result, cycle.seconds) == (
        "abc",
        "webhook",
        "failed",
        3.5,
    )
    assert cycle.summary == {"create": 1, "update": 1}
    assert [(a.address, a.status, a.message) for a in cycle.actions] == [
        ("container/minio", "applied", ""),
        ("table/lake.sales.orders", "failed", "boom"),
    ]
    assert set(cycle.drift) == {
        ("container/minio", "memory", "update"),
        ("container/minio", "cores", "update"),
        ("table/lake.sales.orders", "", "create"),
    }
    assert again.get("good_revision") == "abc" and again.get("missing") is None
    assert pending_by_kind(report) == {"table": 1}


def test_since_is_the_start_of_the_unbroken_drift_run(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _cycle(store, 0, Plan((MEM,)))  # drifted, then repaired ...
    _cycle(store, 1, Plan())  # ... clean ...
    _cycle(store, 2, Plan((Change("container/minio", Action.UPDATE, "", (MEM.fields[0],)),)))
    _cycle(store, 3, Plan((MEM, NEW)))  # memory drifting since cycle 2, cores since 3
    history = list(store.planned_cycles())

    report = make_drift_report(
        Plan((MEM, NEW)),
        history,
        {"container/minio": "c0ffee" * 6},
        "r1",
        "2030-01-01T00:00:00+00:00",
    )
    doc: Any = json.loads(json.dumps(drift_to_dict(report)))  # the contract, as JSON
    minio, table = doc["drift"]
    assert minio["address"] == "container/minio" and minio["commit"] == "c0ffee" * 6
    assert [f["since"] for f in minio["fields"]] == [
        "2023-11-14T22:15:20.000+00:00",
        "2023-11-14T22:16:20.000+00:00",
    ]
    assert minio["since"] == "2023-11-14T22:15:20.000+00:00"
    assert table["since"] == "2023-11-14T22:16:20.000+00:00" and table["commit"] is None
    assert set(minio) == {"address", "fields", "since", "action", "reason", "commit", "kind"}
    assert (minio["kind"], table["kind"]) == ("container", "table")

    fresh = make_drift_report(Plan((NEW,)), [], {}, None, "now")
    assert fresh.entries[0].since == "now"


def test_renderers(tmp_path: Path) -> None:
    report = make_drift_report(
        Plan((MEM, NEW)),
        [],
        {"container/minio": "abcdef1234567890"},
        "feedbeef" * 5,
        "2030-01-01T00:00:00+00:00",
    )
    markdown = render_drift_markdown(report)
    assert markdown.startswith("# Drift report\n")
    assert "| `container/minio` | update | 2030-01-01T00:00:00+00:00 | `abcdef123456` |" in markdown
    assert "| `memory` | 2GiB | 1GiB | 2030-01-01T00:00:00+00:00 |" in markdown
    assert "| container | 1 |" in markdown and "| table | 1 |" in markdown
    text = render_drift_text(report)
    assert "memory: 1GiB -> 2GiB" in text and "2 drifted resource(s)" in text
    empty = make_drift_report(Plan(), [], {}, "r", "t")
    assert "No drift" in render_drift_markdown(empty) and "No drift" in render_drift_text(empty)
    assert drift_keys(Plan((NEW,))) == (("table/lake.sales.orders", "", "create"),)


def test_health_lines_are_their_own_kind_and_section() -> None:
    plan = Plan((MEM, COMPACT, LATER, LOCKED))
    report = make_drift_report(plan, [], {}, "r", "2030-01-01T00:00:00+00:00")
    assert [(e.address, e.action) for e in report.health] == [
        ("table/lake.ops.events", "deferred"),
        ("table/lake.sales.orders", "rewrite_data_files"),
    ]
    assert {e.action for e in report.drift} == {"update", "deferred"}  # a locked CT is drift
    doc: Any = json.loads(json.dumps(drift_to_dict(report)))
    compact = next(e for e in doc["drift"] if e["action"] == "rewrite_data_files")
    assert compact == {
        "address": "table/lake.sales.orders",
        "fields": [],
        "kind": "health",
        "since": "2030-01-01T00:00:00+00:00",
        "action": "rewrite_data_files",
        "reason": "60 data files under 32MiB",
        "commit": None,
    }

    markdown = render_drift_markdown(report)
    summary, health = markdown.split("## Table health")
    assert "rewrite_data_files" not in summary and "| container | 1 |" in summary
    assert "| health |" not in summary
    assert (
        "| `table/lake.sales.orders` | rewrite_data_files | 2030-01-01T00:00:00+00:00 |"
        " 60 data files under 32MiB |" in health
    )
    text = render_drift_text(report)
    drift_part, health_part = text.split("Table health")
    assert "1 drifted resource(s) (container: 1)." in drift_part
    assert "  deferred table/lake.ops.events  since 2030" in health_part
    assert health_part.rstrip().endswith("2 table(s) with maintenance due.")

    only_health = make_drift_report(Plan((COMPACT,)), [], {}, "r", "t")
    assert "**No drift.**" in render_drift_markdown(only_health)
    assert "## Table health" in render_drift_markdown(only_health)
    assert render_drift_text(only_health).startswith("No drift (revision r checked t).\n\n")
