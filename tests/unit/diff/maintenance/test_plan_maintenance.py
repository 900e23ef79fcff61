"""plan_maintenance from case files {now, policy, tables, health, expect}: one parametrized test."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reconciler.diff.maintenance import maintenance_noops, plan_maintenance
from reconciler.model.health import SnapshotInfo, TableHealth
from reconciler.model.policies import MaintenancePolicy
from reconciler.model.tables import NullOrder, SortDirection, SortField, TableSpec, table_address
from reconciler.model.units import parse_duration
from reconciler.plan.change import PROCEDURE_ACTIONS, Plan
from reconciler.plan.maintenance_ops import expand_all
from reconciler.plan.operations import decode_operations
from reconciler.plan.serialize import change_to_dict, plan_to_json
from reconciler.sources.build_policies import build_policy
from reconciler.sources.documents import Document, Problems

CASES = sorted((Path(__file__).parent / "cases").glob("*.json"))


def _policy(name: str, spec: dict[str, Any]) -> MaintenancePolicy:
    data = {
        "apiVersion": "reconciler/v1",
        "kind": "MaintenancePolicy",
        "metadata": {"name": name},
        "spec": spec,
    }
    doc = Document(f"{name}.yaml", 0, 1, data)
    problems = Problems(doc)
    policy = build_policy(doc, problems)
    assert policy is not None, [str(e) for e in problems.errors]
    return policy


def _table(raw: dict[str, Any]) -> TableSpec:
    sort_by = tuple(
        SortField(
            s["source"],
            s.get("transform", "identity"),
            SortDirection(s.get("direction", "asc")),
            NullOrder(s.get("nulls", "first")),
        )
        for s in raw.get("sortBy", ())
    )
    return TableSpec(
        raw["catalog"],
        tuple(raw["namespace"]),
        raw["name"],
        fields=(),
        sort_by=sort_by,
        policy=raw.get("policy"),
    )


def _health(address: str, raw: dict[str, Any], now: datetime) -> TableHealth:
    series = raw.get("snapshotSeries", {"count": 1, "every": "1h"})
    step = parse_duration(series["every"])
    snapshots = tuple(
        SnapshotInfo(
            i + 1,
            int((now - timedelta(seconds=step * (series["count"] - 1 - i))).timestamp() * 1000),
        )
        for i in range(series["count"])
    )
    return TableHealth(
        address=address,
        data_files=raw.get("dataFiles", 0),
        total_bytes=raw.get("totalBytes", 0),
        records=raw.get("records", 0),
        delete_files=raw.get("deleteFiles", 0),
        manifests=raw.get("manifests", 1),
        snapshots=snapshots,
        ref_snapshot_ids=frozenset(raw.get("refSnapshotIds", ())),
        current_snapshot_id=series["count"] if raw.get("hasSnapshot", True) else None,
        gc_enabled=raw.get("gcEnabled", True),
        small_files=raw.get("smallFiles"),
        small_file_partitions=raw.get("smallFilePartitions"),
        small_file_size=raw.get("smallFileSize", 33554432 if "smallFiles" in raw else None),
        small_file_bytes=raw.get("smallFileBytes"),
    )


def _inputs(
    case: dict[str, Any],
) -> tuple[list[TableSpec], dict[str, MaintenancePolicy], dict[str, TableHealth], datetime]:
    now = datetime.fromisoformat(case["now"])
    policies = {name: _policy(name, spec) for name, spec in case["policies"].items()}
    tables = [_table(t) for t in case["tables"]]
    health = {}
    for t in case["tables"]:
        if "health" in t:
            address = table_address(t["catalog"], tuple(t["namespace"]), t["name"])
            health[address] = _health(address, t["health"], now)
    return tables, policies, health, now


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path) -> None:
    case = json.loads(path.read_text())
    tables, policies, health, now = _inputs(case)
    planned = plan_maintenance(
        tables, policies, health, now, ignore_window=case.get("ignoreWindow", False)
    )
    # One maintain line per table; the cases list its calls as the per-call lines (v1 JSON).
    assert all(c.action not in PROCEDURE_ACTIONS for c in planned)
    changes = expand_all(planned)
    got = [change_to_dict(c) for c in changes]
    expected = case["expect"]["changes"]
    assert [(g["address"], g["action"]) for g in got] == [
        (e["address"], e["action"]) for e in expected
    ]
    for change, g, e in zip(changes, got, expected, strict=True):
        assert g.get("options", {}) == e.get("options", {}), g["reason"]
        # The instruction the Spark applier runs: one procedure call, its age relative.
        encoded = [op.to_dict() for op in change.operations]
        assert encoded == e["operations"], json.dumps(encoded)
        assert decode_operations(encoded, "case") == change.operations
        for fragment in e.get("reasonContains", ()):
            assert fragment in g["reason"], (fragment, g["reason"])
    noops = maintenance_noops(tables, policies, health, now)
    for address, fragment in case["expect"].get("noopsContain", ()):
        assert any(a == address and fragment in r for a, r in noops), (fragment, noops)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_same_inputs_give_identical_json(path: Path) -> None:
    case = json.loads(path.read_text())
    first = plan_to_json(Plan(plan_maintenance(*_inputs(case))))
    again = plan_to_json(Plan(plan_maintenance(*_inputs(case))))
    assert first == again
