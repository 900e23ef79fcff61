"""The maintain line: one per table with its ordered calls; the v1 JSON document keeps the
per-call lines byte for byte (golden_v1 was captured before the maintain line existed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from reconciler.diff.maintenance import plan_maintenance
from reconciler.plan.change import PROCEDURE_ACTIONS, Action, Plan
from reconciler.plan.maintenance_ops import CallProcedure, expand_all, fold
from reconciler.plan.serialize import plan_to_json

sys.path.insert(0, str(Path(__file__).parents[1] / "diff" / "maintenance"))
from test_plan_maintenance import CASES, _inputs

GOLDEN = Path(__file__).parent / "golden_v1"


def _changes(path: Path) -> Plan:
    case = json.loads(path.read_text())
    tables, policies, health, now = _inputs(case)
    return Plan(
        plan_maintenance(
            tables, policies, health, now, ignore_window=case.get("ignoreWindow", False)
        )
    )


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_v1_json_is_unchanged(path: Path) -> None:
    assert plan_to_json(_changes(path)) == (GOLDEN / f"{path.stem}.json").read_text()


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_one_maintain_line_per_table_with_ordered_calls(path: Path) -> None:
    plan = _changes(path)
    assert not any(c.action in PROCEDURE_ACTIONS for c in plan.changes)
    maintained = [c.address for c in plan.changes if c.action is Action.MAINTAIN]
    assert len(maintained) == len(set(maintained))
    golden = json.loads((GOLDEN / f"{path.stem}.json").read_text())["changes"]
    for change in plan.changes:
        if change.action is not Action.MAINTAIN:
            continue
        calls = [op.procedure for op in change.operations if isinstance(op, CallProcedure)]
        assert len(calls) == len(change.operations) and calls
        per_call = [g["action"] for g in golden if g["address"] == change.address]
        assert calls == [a for a in per_call if Action(a) in PROCEDURE_ACTIONS]
        retention = [c for c in plan.changes if c.address == change.address]
        assert retention[-1] is change  # after the table's retention line, if any
    assert fold(expand_all(plan.changes)) == plan.changes


def test_order_across_tables_has_a_line_per_table() -> None:
    plan = _changes(next(p for p in CASES if p.stem == "order_across_tables"))
    lines = [(c.address, c.action.value) for c in plan.changes]
    assert len(lines) == len({a for a, _ in lines})
    assert all(action == "maintain" for _, action in lines)
