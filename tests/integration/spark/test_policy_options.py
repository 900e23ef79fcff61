"""Every option a policy field can produce, through a real procedure call once.

Each case is a policy (and table sortBy) whose plan line carries the option; the line is
made by the planner itself (diff.maintenance.assess_table) from a real table's health, turned
into a CALL by the job builder, and all the calls run in one spark-submit (one JVM, each
call on its own table) that goes on after a failure, so every case reports for itself.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.schema import Schema
from pyiceberg.table.sorting import SortField as IcebergSortField
from pyiceberg.table.sorting import SortOrder
from pyiceberg.transforms import BucketTransform
from pyiceberg.types import LongType, NestedField, StringType, TimestamptzType

from reconciler.diff.maintenance import assess_table
from reconciler.model.policies import (
    Compaction,
    CompactionStrategy,
    MaintenancePolicy,
    ManifestRewrite,
    OrphanRemoval,
    SnapshotExpiry,
)
from reconciler.model.tables import (
    ColumnSpec,
    NullOrder,
    PrimitiveType,
    SortDirection,
    SortField,
    TableSpec,
)
from reconciler.model.units import MIB
from reconciler.plan.change import Action, Change
from reconciler.plan.maintenance_ops import CallProcedure, expand_all, procedure_of
from reconciler.providers.iceberg.health import read_health
from reconciler.providers.spark.jobs import catalog_conf
from reconciler.providers.spark.procedures import procedure_call
from reconciler.providers.spark.runner import ActionResult, run_table_job
from reconciler.settings import SparkSettings
from tests.integration.spark.spark_env import local_jars

pytestmark = pytest.mark.spark
APPENDS = 3
ARROW = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)
SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=True),
    NestedField(2, "name", StringType(), required=False),
    NestedField(3, "ts", TimestamptzType(), required=True),
)
COMPACT = Compaction(small_file_size=32 * MIB, min_small_files=2, target_file_size=64 * MIB)
ORPHANS_ONLY_WITH = ManifestRewrite(min_manifests=2)  # orphan removal rides along: needs a peer


@dataclass(frozen=True)
class Case:
    """One policy field (or combination) and the procedure arguments it must produce."""

    id: str
    action: Action
    policy: MaintenancePolicy
    options: tuple[str, ...]  # keys the plan line must carry
    sort_by: tuple[SortField, ...] = ()
    bucket_sort: bool = False  # the Iceberg table has a sort order of its own (bucket[4](id))
    days_ahead: int = 0  # plan as if this many days had passed (expiry of fresh snapshots)
    values: tuple[tuple[str, object], ...] = field(default=())  # exact values expected


def _p(**sections: object) -> MaintenancePolicy:
    return MaintenancePolicy(name="opts", **sections)  # type: ignore[arg-type]


SIZE_OPTIONS = ("target-file-size-bytes", "min-file-size-bytes", "min-input-files")
CASES = (
    Case(
        "compaction.strategy=binpack+targetFileSize+smallFileSize",
        Action.REWRITE_DATA_FILES,
        _p(compaction=COMPACT),
        ("strategy", *SIZE_OPTIONS),
        values=(
            ("strategy", "binpack"),
            ("target-file-size-bytes", str(64 * MIB)),
            ("min-file-size-bytes", str(32 * MIB)),
            ("min-input-files", "2"),
        ),
    ),
    Case(
        "compaction.strategy=sort+sortBy(identity)",
        Action.REWRITE_DATA_FILES,
        _p(compaction=Compaction(min_small_files=2, strategy=CompactionStrategy.SORT)),
        ("strategy", "sort_order", *SIZE_OPTIONS),
        sort_by=(
            SortField("id", direction=SortDirection.DESC, nulls=NullOrder.LAST),
            SortField("name"),
        ),
        values=(("strategy", "sort"), ("sort_order", "id DESC NULLS LAST, name ASC NULLS FIRST")),
    ),
    Case(
        "compaction.strategy=sort+sortBy(transform): the table's sort order",
        Action.REWRITE_DATA_FILES,
        _p(compaction=Compaction(min_small_files=2, strategy=CompactionStrategy.SORT)),
        ("strategy", *SIZE_OPTIONS),
        sort_by=(SortField("id", transform="bucket[4]"),),
        bucket_sort=True,
        values=(("strategy", "sort"),),
    ),
    Case(
        "compaction.strategy=sort without sortBy: binpack",
        Action.REWRITE_DATA_FILES,
        _p(compaction=Compaction(min_small_files=2, strategy=CompactionStrategy.SORT)),
        ("strategy", *SIZE_OPTIONS),
        values=(("strategy", "binpack"),),
    ),
    Case(
        "compaction.where",
        Action.REWRITE_DATA_FILES,
        _p(compaction=Compaction(min_small_files=2, where="id >= 0 AND name <> 'x'")),
        ("strategy", "where", *SIZE_OPTIONS),
    ),
    Case(
        "compaction.maxConcurrentFileGroups",
        Action.REWRITE_DATA_FILES,
        _p(compaction=Compaction(min_small_files=2, max_concurrent_file_groups=2)),
        ("strategy", "max-concurrent-file-group-rewrites", *SIZE_OPTIONS),
        values=(("max-concurrent-file-group-rewrites", "2"),),
    ),
    Case(
        "rewriteManifests",
        Action.REWRITE_MANIFESTS,
        _p(rewrite_manifests=ManifestRewrite(min_manifests=2)),
        (),
    ),
    Case(
        "expireSnapshots.olderThan+retainLast",
        Action.EXPIRE_SNAPSHOTS,
        _p(expire_snapshots=SnapshotExpiry(older_than=86400, retain_last=1)),
        ("older_than", "retain_last"),
        days_ahead=2,
        values=(("retain_last", 1),),
    ),
    Case(
        "removeOrphanFiles.olderThan+dryRun=false",
        Action.REMOVE_ORPHAN_FILES,
        _p(
            remove_orphan_files=OrphanRemoval(older_than=86400), rewrite_manifests=ORPHANS_ONLY_WITH
        ),
        ("older_than", "dry_run"),
        values=(("dry_run", False),),
    ),
    Case(
        "removeOrphanFiles.dryRun=true",
        Action.REMOVE_ORPHAN_FILES,
        _p(
            remove_orphan_files=OrphanRemoval(older_than=86400, dry_run=True),
            rewrite_manifests=ORPHANS_ONLY_WITH,
        ),
        ("older_than", "dry_run"),
        values=(("dry_run", True),),
    ),
)


CONTROL = Case("control: an option Iceberg does not know", Action.REWRITE_DATA_FILES, _p(), ())


@dataclass(frozen=True)
class Ran:
    lines: dict[str, Change]
    results: dict[str, ActionResult]
    orphans: dict[str, Path]
    log_file: Path
    seconds: float


def _table_name(case: Case) -> str:
    return f"t{CASES.index(case)}"


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    root = tmp_path_factory.mktemp("options")
    (root / "warehouse").mkdir()
    props = {"uri": f"sqlite:///{root / 'catalog.db'}", "warehouse": (root / "warehouse").as_uri()}
    catalog = SqlCatalog("lake", **props)
    catalog.create_namespace("opts")
    now = datetime.now(UTC)
    lines: dict[str, Change] = {}
    orphans: dict[str, Path] = {}
    for case in CASES:
        name = _table_name(case)
        sort = SortOrder(IcebergSortField(source_id=1, transform=BucketTransform(4)))
        table = catalog.create_table(
            ("opts", name),
            SCHEMA,
            sort_order=sort if case.bucket_sort else SortOrder(),
            properties={"format-version": "2", "write.parquet.compression-codec": "zstd"},
        )
        for i in range(APPENDS):
            table.append(pa.Table.from_pylist([{"id": i, "name": f"n{i}", "ts": now}], ARROW))
        spec = TableSpec(
            "lake",
            ("opts",),
            name,
            fields=(ColumnSpec("id", PrimitiveType("long"), required=True),),
            sort_by=case.sort_by,
            policy="opts",
        )
        table = catalog.load_table(("opts", name))
        health = read_health(table, spec.address, case.policy.compaction)
        assessment = assess_table(
            spec, case.policy, health, now + timedelta(days=case.days_ahead), ignore_window=True
        )
        line = next((c for c in expand_all(assessment.changes) if c.action is case.action), None)
        assert line is not None, (case.id, assessment.noops)
        lines[case.id] = line
        if case.action is Action.REMOVE_ORPHAN_FILES:
            orphan = Path(table.location().removeprefix("file://")) / "data" / "orphan.parquet"
            orphan.write_bytes(b"left by a failed write")
            os.utime(orphan, (time.time() - 2 * 86400, time.time() - 2 * 86400))
            orphans[case.id] = orphan
    calls = [
        procedure_call(
            "lake",
            ("opts", _table_name(c)),
            procedure_of(lines[c.id].operations) or CallProcedure("none"),
            now + timedelta(days=c.days_ahead),  # the moment the line is applied
        )
        for c in CASES
    ]
    # Control: the name Iceberg 1.10 does not know (sent before the fix) must be refused,
    # or these tests could not tell an accepted option from an ignored one.
    wrong = CallProcedure("rewrite_data_files", options=(("max-concurrent-file-groups", "2"),))
    calls.append(procedure_call("lake", ("opts", "t0"), wrong, now))
    job = run_table_job(
        SparkSettings(jars=local_jars(), conf=(("spark.driver.memory", "1g"),), timeout=900.0),
        catalog_conf("lake", props),
        calls,
        state_dir=root / "state",
        app_name="policy-options",
        keep_going=True,
    )
    print(f"{len(calls)} procedure calls in one spark-submit: {job.seconds:.1f}s")
    yield Ran(
        lines,
        {c.id: r for c, r in zip((*CASES, CONTROL), job.results, strict=True)},
        orphans,
        job.log_file,
        job.seconds,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_option_is_accepted_by_the_procedure(ran: Ran, case: Case) -> None:
    options = dict(ran.lines[case.id].options)
    assert set(case.options) <= set(options), options  # the field produced its option
    for key, value in case.values:
        assert options[key] == value, (key, options)
    result = ran.results[case.id]
    assert result.ran, f"not run; log: {ran.log_file}"
    assert result.ok, f"{result.error} (log: {ran.log_file})"
    got = dict(result.result)
    if case.action is Action.REWRITE_DATA_FILES:
        assert got["rewritten_data_files_count"] == APPENDS and got["added_data_files_count"] == 1
    elif case.action is Action.REWRITE_MANIFESTS:
        assert got["rewritten_manifests_count"] == APPENDS and got["added_manifests_count"] >= 1
    elif case.action is Action.EXPIRE_SNAPSHOTS:
        assert got["deleted_manifest_lists_count"] == APPENDS - 1  # all but retain_last=1
    else:
        orphan = ran.orphans[case.id]
        assert got["orphan_files_count"] == 1 and str(got["orphan_files"]).count("orphan.parquet")
        assert orphan.exists() is bool(options["dry_run"])


def test_an_option_iceberg_does_not_know_is_refused(ran: Ran) -> None:
    result = ran.results[CONTROL.id]
    assert result.ran and not result.ok
    assert "Cannot use options [max-concurrent-file-groups]" in result.error, result.error
