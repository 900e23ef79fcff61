"""The saved plan document (format version 2), its staleness test and the Markdown plan view."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from reconciler.plan.change import Action, Change, FieldChange, Plan
from reconciler.plan.container_ops import SetConfig
from reconciler.plan.maintenance_ops import fold
from reconciler.plan.saved import (
    SavedOptions,
    SavedPlan,
    SavedPlanError,
    saved_from_dict,
    saved_to_json,
    stale_reason,
)
from reconciler.render.markdown import render_plan_markdown
from tests.docs_json import plan_md_examples, shape

MINIO = Change(
    "container/minio",
    Action.UPDATE,
    "drifted",
    fields=(FieldChange("memory", 1024, 2048),),
    preconditions=(("vmid", 107), ("node", "pve")),
)
EXPIRY = Change(
    "table/lake.sales.orders",
    Action.EXPIRE_SNAPSHOTS,
    "3 snapshots older than 7d",
    options=(("retain_last", 5), ("older_than", "7d")),
    depends_on=("container/minio",),
)
(TABLE,) = fold((EXPIRY,))  # the table's maintain line, its one call
SAVED = SavedPlan(
    plan=Plan((MINIO, TABLE)),
    revision="0123456789abcdef0123456789abcdef01234567",
    spec_digest="sha256:" + "ab" * 32,
    created_at="2026-12-02T02:00:00Z",
    reconciler_version="0.1.0",
    options=SavedOptions(targets=("minio",), allow_restart=True),
    notes=(("table/lake.sales.items", "healthy"),),
)


def test_the_document_round_trips_with_preconditions_and_options() -> None:
    doc = json.loads(saved_to_json(SAVED))
    assert doc["format_version"] == "2"
    assert list(doc)[:5] == [
        "format_version",
        "created_at",
        "reconciler_version",
        "source",
        "options",
    ]
    assert doc["source"] == {"revision": SAVED.revision, "spec_digest": SAVED.spec_digest}
    assert doc["changes"][0]["preconditions"] == {"vmid": 107, "node": "pve"}
    assert doc["changes"][1]["action"] == "maintain"
    assert doc["changes"][1]["options"] == {
        "calls": [
            {
                "procedure": "expire_snapshots",
                "reason": "3 snapshots older than 7d",
                "options": {"retain_last": 5, "older_than": "7d"},
            }
        ]
    }
    assert saved_from_dict(doc) == SAVED
    assert saved_to_json(saved_from_dict(doc)) == saved_to_json(SAVED)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1", "format version '1' (the `plan --output json` document, not a saved plan)"),
        ("3", "format version '3': this reconciler applies saved plans of format version 2"),
        (None, "it has no format_version"),
    ],
)
def test_other_format_versions_are_refused_by_name(version: str | None, expected: str) -> None:
    doc = json.loads(saved_to_json(SAVED))
    doc["format_version"] = version
    with pytest.raises(SavedPlanError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        saved_from_dict(doc)


def test_a_broken_line_names_its_index() -> None:
    doc = json.loads(saved_to_json(SAVED))
    doc["changes"][1]["action"] = "explode"
    with pytest.raises(SavedPlanError, match=r"changes\[1\]\.action 'explode' is unknown"):
        saved_from_dict(doc)


def test_an_identical_fresh_plan_is_not_stale_even_with_other_reasons() -> None:
    fresh = Plan((replace(MINIO, reason="other words"), TABLE))
    assert stale_reason(SAVED, fresh) is None


@pytest.mark.parametrize(
    ("fresh", "reason"),
    [
        (Plan((TABLE,)), "container/minio (update) is no longer planned"),
        (
            Plan((MINIO, TABLE, replace(MINIO, action=Action.RESTART))),
            "a plan made now adds container/minio (restart)",
        ),
        (Plan((TABLE, MINIO)), "a plan made now orders its lines differently"),
        (
            Plan((replace(MINIO, fields=(FieldChange("memory", 512, 2048),)), TABLE)),
            "container/minio (update): fields differ: saved memory 1024 -> 2048, "
            "now memory 512 -> 2048",
        ),
        (
            Plan((replace(MINIO, preconditions=(("vmid", 107), ("node", "pve2"))), TABLE)),
            'container/minio (update): a precondition no longer holds: saved {"vmid": 107, '
            '"node": "pve"}, now {"vmid": 107, "node": "pve2"}',
        ),
        (
            Plan((MINIO, *fold((replace(EXPIRY, options=(("retain_last", 4),)),)))),
            "table/lake.sales.orders (maintain): options differ",
        ),
    ],
)
def test_any_difference_in_a_line_is_named(fresh: Plan, reason: str) -> None:
    found = stale_reason(SAVED, fresh)
    assert found is not None and found.startswith(reason), found


def test_markdown_lists_each_line_its_fields_options_and_the_header() -> None:
    md = render_plan_markdown(SAVED.plan, SAVED.notes, ["Saved plan of x."])
    assert md.splitlines()[:5] == [
        "# Plan",
        "",
        "Saved plan of x.",
        "",
        "**Plan: 0 to create, 1 to update, 0 to resize, 1 maintenance jobs to run.**",
    ]
    assert "| ~ | `container/minio` | update | drifted |" in md
    assert "| `memory` | 1 GiB | 2 GiB |" in md
    assert "1. `expire_snapshots`: 3 snapshots older than 7d" in md
    assert "    - option `retain_last`: 5" in md
    assert "Depends on: `container/minio`" in md
    assert "- `table/lake.sales.items`: healthy" in md


def test_markdown_escapes_cells_and_says_no_changes() -> None:
    odd = Change("container/a|b", Action.REFUSE, "shrink\nrefused")
    md = render_plan_markdown(Plan((odd,)))
    assert "| ! | `container/a\\|b` | refuse (never executed) | shrink<br>refused |" in md
    assert "**No changes.**" in render_plan_markdown(Plan())


DOC_DIGEST = "3f2a9c0d41e5b7a8c6d2e1f0a9b8c7d6e5f4a3b2"


def test_the_docs_example_has_the_shape_plan_out_writes() -> None:
    example = next(d for d in plan_md_examples() if d["format_version"] == "2")
    change = Change(
        "container/spark",
        Action.UPDATE,
        "memory differs from the spec; applied live",
        fields=(FieldChange("memory", 1024, 4096),),
        preconditions=(("digest", DOC_DIGEST), ("vmid", 108), ("node", "pve")),
        operations=(SetConfig((("memory", 4096),)),),
    )
    written = json.loads(
        saved_to_json(
            replace(SAVED, plan=Plan((change,)), notes=(), revision=None, options=SavedOptions())
        )
    )
    assert shape(example) == shape(written)
    assert example["source"]["revision"] is None and written["source"]["revision"] is None
    assert saved_from_dict(example).plan == Plan((change,))
