"""Rules between kinds: a Table's policy must exist in the same revision."""

from __future__ import annotations

import shutil
from pathlib import Path

from reconciler.sources import load_desired

ROOT = Path(__file__).resolve().parents[3]


def test_table_naming_an_unknown_policy_is_reported_at_its_line(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    sales = tmp_path / "specs" / "tables" / "sales.yaml"
    text = sales.read_text()
    assert "policy: standard" in text
    sales.write_text(text.replace("policy: standard", "policy: nightly", 1))
    result = load_desired(tmp_path / "specs")
    assert result.desired is None
    messages = [str(e) for e in result.errors]
    assert len(messages) == 1, messages
    assert "sales.yaml:" in messages[0] and "spec.policy" in messages[0]
    assert "'nightly' is not defined" in messages[0]


def test_the_example_specs_are_consistent_across_kinds() -> None:
    result = load_desired(ROOT / "specs")
    assert result.errors == ()
    assert result.desired is not None
    policies = {p.name for p in result.desired.policies}
    assert all(t.policy in policies for t in result.desired.tables if t.policy)


def test_nested_table_locations_are_refused(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    sales = tmp_path / "specs" / "tables" / "sales.yaml"
    text = sales.read_text()
    first, second = text.split("\n---\n", 1)
    first = first.replace(
        "  policy: standard", "  location: s3://warehouse/sales\n  policy: standard", 1
    )
    second = second.replace(
        "  policy: standard", "  location: s3://warehouse/sales/customers\n  policy: standard", 1
    )
    sales.write_text(first + "\n---\n" + second)
    result = load_desired(tmp_path / "specs")
    messages = [str(e) for e in result.errors]
    assert result.desired is None and len(messages) == 1, messages
    assert "spec.location" in messages[0] and "must not overlap" in messages[0]
