"""docs/plan.md's plan JSON example has the shape `plan --output json` prints."""

from __future__ import annotations

from reconciler.plan.change import Action, Change, FieldChange, Plan
from reconciler.plan.serialize import plan_to_dict
from tests.docs_json import plan_md_examples, shape


def test_the_plan_example_matches_the_printed_document() -> None:
    example = next(d for d in plan_md_examples() if "outcomes" not in d)
    plan = Plan(
        (
            Change(
                "container/hive",
                Action.REFUSE,
                "rootfs would shrink; PVE cannot shrink a disk",
                (FieldChange("rootfs.size", "10GiB", "8GiB"),),
            ),
        )
    )
    printed = plan_to_dict(plan)
    assert shape(example) == shape(printed)
    assert example["summary"] == printed["summary"]  # the exit code the doc states is real


def test_the_apply_example_starts_with_the_plan_document() -> None:
    example = next(d for d in plan_md_examples() if "outcomes" in d)
    assert list(example)[:3] == ["format_version", "changes", "summary"]
    assert isinstance(example["summary"]["exit_code"], int)
