"""Every policy in specs/policies/ for real: a table under it gets small files from pyiceberg,
then its maintenance runs as `reconcile maintain --now` runs it (engine, SparkMaintenanceApplier,
spark-submit with the Iceberg runtime): every line applied, so every option sent is accepted,
and the rows are identical afterwards."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from reconciler.deps import Deps
from reconciler.diff.maintenance import ACTION_ORDER, plan_maintenance
from reconciler.diff.planner import make_plan
from reconciler.engine import RunOptions, apply_plan, make_full_plan
from reconciler.model.desired import Desired
from reconciler.model.policies import SnapshotExpiry
from reconciler.plan.change import Action, Operation
from reconciler.plan.maintenance_ops import CallProcedure, expand_all, fold
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.report.outcome import Status, per_call
from reconciler.settings import Settings
from reconciler.sources.config import load_settings
from reconciler.sources.validate import load_desired
from reconciler.wiring import build_deps
from tests.integration.spark.spark_env import local_jars

pytestmark = pytest.mark.spark
ROOT = Path(__file__).resolve().parents[3]
POLICIES = sorted(p.stem for p in (ROOT / "specs" / "policies").glob("*.yaml"))
ORPHAN_AGE = 4 * 86400  # older than any shipped removeOrphanFiles.olderThan
TABLE = """apiVersion: reconciler/v1
kind: Table
metadata: {{name: under-{policy}}}
spec:
  catalog: lake
  namespace: policies
  name: {policy}
  schema:
    - {{name: id, type: long, required: true}}
    - {{name: name, type: string}}
    - {{name: ts, type: timestamptz, required: true}}
  partitionBy:
    - {{source: ts, transform: day}}
  sortBy:
    - {{source: id}}
  properties:
    write.parquet.compression-codec: zstd
  policy: {policy}
"""
ARROW = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


@dataclass(frozen=True)
class Lake:
    settings: Settings
    desired: Desired
    catalogs: Catalogs

    def rows(self, policy: str) -> tuple[int, str]:
        table = self.catalogs.get("lake").load_table(("policies", policy))
        rows = sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["id"])
        return len(rows), hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()


def _expiry(lake: Desired, policy: str) -> SnapshotExpiry:
    rule = next(p for p in lake.policies if p.name == policy).expire_snapshots
    assert rule is not None, f"policy {policy} has no expireSnapshots"
    return rule


def _appends_needed(lake: Desired, policy: str) -> int:
    """Enough single-file appends that every trigger of the policy fires."""
    spec = next(p for p in lake.policies if p.name == policy)
    needed = 5
    if spec.compaction is not None:
        needed = max(needed, spec.compaction.min_small_files or 50)
    if spec.rewrite_manifests is not None:
        needed = max(needed, spec.rewrite_manifests.min_manifests)  # one manifest per append
    if spec.expire_snapshots is not None:
        needed = max(needed, spec.expire_snapshots.retain_last + 2)
    return needed + 1


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    root = tmp_path_factory.mktemp("policies")
    specs = root / "specs"
    shutil.copytree(ROOT / "specs" / "policies", specs / "policies")
    (specs / "tables").mkdir()
    for policy in POLICIES:
        (specs / "tables" / f"{policy}.yaml").write_text(TABLE.format(policy=policy))
    config = root / "reconciler.yaml"
    config.write_text(
        "specs: specs\nstate_dir: state\napply: {parallelism: 2}\n"
        f"spark:\n  master: local[2]\n  jars: {json.dumps(list(local_jars()))}\n"
        "  conf: {spark.driver.memory: 1g}\n  timeout: 900\n"
    )
    settings = load_settings(config)
    loaded = load_desired(settings.specs)
    assert loaded.desired is not None, loaded.errors
    catalogs = Catalogs({n: dict(p) for n, p in settings.catalogs}, state_dir=settings.state_dir)
    yield Lake(settings, loaded.desired, catalogs)


def _deps(settings: Settings) -> Deps:
    return replace(build_deps(settings), observe_containers=None)  # no containers in these specs


def test_every_shipped_policy_maintains_its_table_through_spark(lake: Lake) -> None:
    assert POLICIES, "specs/policies/ holds no policy"
    deps = _deps(lake.settings)
    created = apply_plan(
        lake.settings,
        make_full_plan(lake.settings, lake.desired, RunOptions(apply=True), deps),
        RunOptions(apply=True),
        deps,
    )
    assert [o.status for o in created.outcomes] == [Status.APPLIED] * len(POLICIES)

    now = datetime.now(UTC)
    orphans: dict[str, tuple[Path, Path]] = {}
    for policy in POLICIES:
        table = lake.catalogs.get("lake").load_table(("policies", policy))
        for i in range(_appends_needed(lake.desired, policy)):
            table.append(
                pa.Table.from_pylist([{"id": i, "name": f"n{i}", "ts": now}], schema=ARROW)
            )
        data = Path(table.location().removeprefix("file://")) / "data"
        old, young = data / "orphan-old.parquet", data / "orphan-young.parquet"
        old.write_bytes(b"left by a failed write")
        young.write_bytes(b"a write still in progress")
        os.utime(old, (time.time() - ORPHAN_AGE, time.time() - ORPHAN_AGE))
        orphans[policy] = (old, young)
    before = {policy: lake.rows(policy) for policy in POLICIES}

    maintain = RunOptions(apply=True, maintenance_only=True, ignore_window=True)
    planned = make_full_plan(lake.settings, lake.desired, maintain, deps)
    # The snapshots are seconds old: expiry is due only later. Its line as planned that much
    # later joins the others (it runs after the rewrite, so the rewrite's snapshot is kept).
    later = now + timedelta(seconds=max(_expiry(lake.desired, p).older_than for p in POLICIES) + 60)
    policies = {p.name: p for p in lake.desired.policies}
    assert deps.observe_health is not None
    health = deps.observe_health(lake.desired.tables, policies, deps.clock())
    skipped = int((later - now).total_seconds())
    expiry = [
        # Applied now, not later: the line's age (relative to when it runs) shrinks by the
        # time skipped, so its cutoff is the one it would have later.
        replace(c, operations=tuple(_sooner(op, skipped) for op in c.operations))
        for c in expand_all(
            plan_maintenance(lake.desired.tables, policies, health, later, ignore_window=True)
        )
        if c.action is Action.EXPIRE_SNAPSHOTS
    ]
    calls = sorted(  # the maintain lines' calls with the later expiry, in their order
        (*expand_all(planned.plan.changes), *expiry),
        key=lambda c: (c.address, ACTION_ORDER.index(c.action)),
    )
    changes = fold(calls)
    planned = replace(planned, plan=make_plan(changes, {}))
    expected = [Action.REWRITE_DATA_FILES, Action.REWRITE_MANIFESTS, Action.EXPIRE_SNAPSHOTS,
                Action.REMOVE_ORPHAN_FILES]  # fmt: skip
    for policy in POLICIES:
        lines = [c for c in planned.plan.changes if c.address == f"table/lake.policies.{policy}"]
        assert [c.action for c in lines] == [Action.MAINTAIN], (policy, planned.notes)
        assert [c.action for c in expand_all(lines)] == expected, (policy, planned.notes)
    started = time.monotonic()
    report = apply_plan(lake.settings, planned, maintain, deps)
    seconds = time.monotonic() - started

    failed = [
        (o.address, o.action.value, o.message)
        for o in report.outcomes
        if o.status is not Status.APPLIED
    ]
    assert failed == [], failed
    assert len(report.outcomes) == len(POLICIES)  # a maintain line per table
    done = [c for o in report.outcomes for c in per_call(o)]
    assert len(done) == 4 * len(POLICIES)
    for policy in POLICIES:
        assert lake.rows(policy) == before[policy], policy  # same rows, same values
        old, young = orphans[policy]
        assert not old.exists() and young.exists(), policy
        outcomes = {o.action: dict(o.result) for o in done if policy in o.address}
        assert outcomes[Action.REWRITE_DATA_FILES]["rewritten_data_files_count"] >= 20
        assert outcomes[Action.REWRITE_DATA_FILES]["added_data_files_count"] == 1
        assert outcomes[Action.REMOVE_ORPHAN_FILES]["orphan_files_count"] == 1
        table = lake.catalogs.get("lake").load_table(("policies", policy))
        assert len(table.metadata.snapshots) == _expiry(lake.desired, policy).retain_last, policy
    print(f"maintenance of {len(POLICIES)} tables through Spark: {seconds:.1f}s")
    for o in done:
        print(f"  {o.address} {o.action.value}: {o.message}")


def _sooner(op: Operation, seconds: int) -> Operation:
    assert isinstance(op, CallProcedure) and op.older_than_seconds is not None
    return replace(op, older_than_seconds=max(0, op.older_than_seconds - seconds))
