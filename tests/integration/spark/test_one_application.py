"""One Spark application per maintenance run: four due tables of one plan go through the
executor into ONE spark-submit (one JVM, one application id), run two at a time in FAIR
pools; one table's line carries an option Iceberg refuses, and only that table fails."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyiceberg.catalog.sql import SqlCatalog

from reconciler.apply.executor import ExecutorOptions, execute
from reconciler.diff.maintenance import plan_maintenance
from reconciler.plan.change import Action, Plan
from reconciler.providers.iceberg.health import read_health
from reconciler.providers.spark.application import SparkApplication, TableJob
from reconciler.providers.spark.applier import SparkMaintenanceApplier
from reconciler.providers.spark.jobs import catalog_conf
from reconciler.providers.spark.procedures import ProcedureCall
from reconciler.report.outcome import Outcome, Status, per_call
from reconciler.settings import Settings, SparkSettings
from tests.integration.spark.small_tables import (
    APPENDS,
    BAD,
    GOOD,
    POLICY,
    bad_option,
    checksum,
    make_tables,
)
from tests.integration.spark.spark_env import local_jars

pytestmark = pytest.mark.spark


@dataclass(frozen=True)
class Run:
    root: Path
    before: dict[str, tuple[int, str]]
    after: dict[str, tuple[int, str]]
    outcomes: dict[str, list[Outcome]]
    seconds: float


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("lake")
    props = {
        "type": "sql",
        "uri": f"sqlite:///{root / 'catalog.db'}",
        "warehouse": (root / "warehouse").as_uri(),
    }
    (root / "warehouse").mkdir()
    catalog = SqlCatalog("lake", **props)
    catalog.create_namespace("sales")
    specs = make_tables(catalog)
    settings = Settings(
        config_file=None,
        specs=root,
        state_dir=root / "state",
        catalogs=(("lake", tuple(props.items())),),
        spark=SparkSettings(master="local[2]", jars=local_jars(), timeout=600.0),
    )
    time.sleep(1.5)  # every snapshot is older than expiry's 1 s
    health = {
        s.address: read_health(catalog.load_table(f"sales.{s.name}"), s.address, POLICY.compaction)
        for s in specs
    }
    changes = plan_maintenance(specs, {"test": POLICY}, health, datetime.now(UTC))
    # An option Iceberg refuses, on one table's compaction only.
    changes = tuple(
        replace(c, operations=(bad_option(c.operations[0]), *c.operations[1:]))
        if c.address.endswith(f".{BAD}") and c.action is Action.MAINTAIN  # its compaction first
        else c
        for c in changes
    )
    plan = Plan(changes)
    before = {name: checksum(catalog, name) for name in (*GOOD, BAD)}
    applier = SparkMaintenanceApplier(settings)  # the lines' operations only
    applier.prepare(plan.executable())
    started = time.monotonic()
    outcomes = execute(plan, [applier], ExecutorOptions(parallelism=4))
    seconds = time.monotonic() - started
    by_table: dict[str, list[Outcome]] = {}
    for outcome in (call for o in outcomes for call in per_call(o)):  # each maintain line's calls
        by_table.setdefault(outcome.address.rsplit(".", 1)[-1], []).append(outcome)
    after = {name: checksum(catalog, name) for name in (*GOOD, BAD)}
    yield Run(root, before, after, by_table, seconds)


def test_three_tables_maintained_in_one_spark_application(run: Run) -> None:
    for name in GOOD:
        got = run.outcomes[name]
        assert [o.action for o in got] == [Action.REWRITE_DATA_FILES, Action.EXPIRE_SNAPSHOTS]
        assert [o.status for o in got] == [Status.APPLIED] * 2, [o.message for o in got]
        assert dict(got[0].result)["rewritten_data_files_count"] == APPENDS
        assert run.after[name] == run.before[name]
    logs = {str(dict(o.result)["log_file"]) for n in GOOD for o in run.outcomes[n]}
    assert len(logs) == 1  # every table's outcome names the same application's log
    files = list((run.root / "state" / "spark" / "logs").glob("*.log"))
    assert [str(f) for f in files] == list(logs)
    text = files[0].read_text()
    assert len(re.findall(r"Running Spark version", text)) == 1  # one JVM, one SparkContext
    assert len(set(re.findall(r"local-\d+", text))) == 1  # one application id


def test_one_tables_failure_leaves_the_others_applied(run: Run) -> None:
    got = run.outcomes[BAD]
    assert got[0].action is Action.REWRITE_DATA_FILES and got[0].status is Status.FAILED
    assert "rewrite_data_files failed:" in got[0].message
    assert "min-input-files" in got[0].message or "not-a-number" in got[0].message, got[0].message
    assert [o.status for o in got[1:]] == [Status.SKIPPED]
    assert run.after[BAD] == run.before[BAD]
    assert all(o.status is Status.APPLIED for n in GOOD for o in run.outcomes[n])


def test_a_table_over_its_timeout_is_cancelled_and_the_others_complete(tmp_path: Path) -> None:
    """A real Spark job that sleeps in its task stands in for a slow procedure: at the
    per-table timeout its job group is cancelled; the other table's calls, in the same
    application, complete."""
    # Generous: a cold session on a loaded 2-core CI host takes seconds for its first query.
    settings = SparkSettings(master="local[2]", jars=local_jars(), timeout=30.0)
    slow = ProcedureCall(
        Action.REWRITE_DATA_FILES,
        "SELECT reflect('java.lang.Thread', 'sleep', CAST(300000 AS BIGINT)) FROM range(1)",
    )
    quick = ProcedureCall(Action.REWRITE_MANIFESTS, "SELECT 1 AS rewritten_manifests_count")
    app = SparkApplication(
        settings,
        catalog_conf("lake", {"type": "sql", "uri": f"sqlite:///{tmp_path / 'c.db'}"}),
        [
            TableJob("table/lake.slow", (slow, quick), "p"),
            TableJob("table/lake.quick", (quick, quick), "p"),
        ],
        state_dir=tmp_path / "state",
        app_name="maintain-2-tables",
        pools={"p": 2},
    )
    app.start()
    try:
        timed = app.result("table/lake.slow")
        done = app.result("table/lake.quick")
    finally:
        app.close()
    assert timed.timed_out and [r.ran for r in timed.results] == [False, False]
    assert not done.timed_out and [r.ok for r in done.results] == [True, True]
    assert "cancelled job group reconciler-0" in app.log_file.read_text()  # Spark did it
