"""Maintenance through a real Spark Connect server (`spark.remote`): four due tables of one
plan go through the executor and run on the server from this process (no JVM child of
ours); one table's line carries an option Iceberg refuses and only it fails; a table over
its timeout is interrupted by its tag while the other completes; each table's `session_conf`
applies to its own calls only; a catalog the server does not know fails its tables with a
message saying so."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyiceberg.catalog.sql import SqlCatalog

from reconciler.apply.executor import ExecutorOptions, execute
from reconciler.diff.maintenance import plan_maintenance
from reconciler.plan.change import Action, Change, Plan
from reconciler.providers.iceberg.health import read_health
from reconciler.providers.spark.application import TableJob
from reconciler.providers.spark.applier import SparkMaintenanceApplier
from reconciler.providers.spark.connect import ConnectApplication
from reconciler.providers.spark.procedures import ProcedureCall
from reconciler.report.outcome import Outcome, Status, per_call
from reconciler.settings import Settings, SparkSettings
from reconciler.testing.procs import java_descendants
from reconciler.testing.spark_connect import ConnectServer, ConnectServerError, start_server
from tests.integration.spark.small_tables import (
    APPENDS,
    BAD,
    GOOD,
    POLICY,
    bad_option,
    checksum,
    make_tables,
)
from tests.integration.spark.spark_env import local_jars, missing

pytestmark = pytest.mark.spark

SLOW_SQL = "SELECT reflect('java.lang.Thread', 'sleep', CAST(300000 AS BIGINT)) FROM range(1)"
# The session's value, substituted by the server's SQL parser (the server's default is 4)
PARTITIONS_SQL = "SELECT ${spark.sql.shuffle.partitions} AS partitions"


@dataclass(frozen=True)
class Lake:
    root: Path
    props: dict[str, str]
    server: ConnectServer


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    """A SQLite catalog and a Spark Connect server that knows it (as catalog `lake`)."""
    local_jars()  # skips (fails in CI) without the Iceberg runtime and the SQLite driver
    root = tmp_path_factory.mktemp("connect-lake")
    (root / "warehouse").mkdir()
    props = {
        "type": "sql",
        "uri": f"sqlite:///{root / 'catalog.db'}",
        "warehouse": (root / "warehouse").as_uri(),
    }
    SqlCatalog("lake", **props).create_namespace("sales")
    try:
        server = start_server({"lake": props}, root / "spark-connect.log")
    except ConnectServerError as exc:
        missing(str(exc))
        raise
    try:
        yield Lake(root, props, server)
    finally:
        server.stop()


def java_children(server: ConnectServer | None) -> list[str]:
    """This process's java descendants, the tree of the test's own `server` aside."""
    return java_descendants(os.getpid(), server.process.pid if server is not None else None)


@dataclass(frozen=True)
class Run:
    before: dict[str, tuple[int, str]]
    after: dict[str, tuple[int, str]]
    outcomes: dict[str, list[Outcome]]
    java_during: list[str]
    server: ConnectServer


@pytest.fixture(scope="module")
def run(lake: Lake) -> Run:
    catalog = SqlCatalog("lake", **lake.props)
    specs = make_tables(catalog)
    settings = Settings(
        config_file=None,
        specs=lake.root,
        state_dir=lake.root / "state",
        catalogs=(("lake", tuple(lake.props.items())),),
        # A master and jars that could not work here: Connect mode must not use them.
        spark=SparkSettings(
            master="spark://127.0.0.1:9", remote=lake.server.url, submit="/nonexistent",
            timeout=600.0,
        ),
    )  # fmt: skip
    time.sleep(1.5)  # every snapshot is older than expiry's 1 s
    health = {
        s.address: read_health(catalog.load_table(f"sales.{s.name}"), s.address, POLICY.compaction)
        for s in specs
    }
    changes = plan_maintenance(specs, {"test": POLICY}, health, datetime.now(UTC))
    changes = tuple(
        replace(c, operations=(bad_option(c.operations[0]), *c.operations[1:]))
        if c.address.endswith(f".{BAD}") and c.action is Action.MAINTAIN  # its compaction first
        else c
        for c in changes
    )
    plan = Plan(changes)
    before = {name: checksum(catalog, name) for name in (*GOOD, BAD)}
    applier = SparkMaintenanceApplier(settings)
    applier.prepare(plan.executable())
    seen: list[str] = []
    # JVMs the session already runs (a metastore the fixtures launched) are not the run's
    already = set(java_children(lake.server))

    def on_event(event: str, change: Change, outcome: Outcome | None) -> None:
        seen.extend(j for j in java_children(lake.server) if j not in already)  # while running

    try:
        outcomes = execute(plan, [applier], ExecutorOptions(parallelism=4), on_event)
    finally:
        applier.close()
    by_table: dict[str, list[Outcome]] = {}
    for outcome in (call for o in outcomes for call in per_call(o)):  # each maintain line's calls
        by_table.setdefault(outcome.address.rsplit(".", 1)[-1], []).append(outcome)
    after = {name: checksum(catalog, name) for name in (*GOOD, BAD)}
    return Run(before, after, by_table, seen, lake.server)


def test_tables_maintained_on_the_connect_server_with_no_jvm_here(run: Run) -> None:
    for name in GOOD:
        got = run.outcomes[name]
        assert [o.action for o in got] == [Action.REWRITE_DATA_FILES, Action.EXPIRE_SNAPSHOTS]
        assert [o.status for o in got] == [Status.APPLIED] * 2, [o.message for o in got]
        assert dict(got[0].result)["rewritten_data_files_count"] == APPENDS
        assert run.after[name] == run.before[name]  # same rows, by count and checksum
    assert run.java_during == []  # no JVM of the reconciler's while the tables ran
    assert java_children(None)  # the check sees a JVM: the server's, started by this test


def test_one_tables_failure_leaves_the_others_applied(run: Run) -> None:
    got = run.outcomes[BAD]
    assert got[0].action is Action.REWRITE_DATA_FILES and got[0].status is Status.FAILED
    assert "rewrite_data_files failed:" in got[0].message
    assert "min-input-files" in got[0].message or "not-a-number" in got[0].message, got[0].message
    assert [o.status for o in got[1:]] == [Status.SKIPPED]
    assert run.after[BAD] == run.before[BAD]


def test_a_table_over_its_timeout_is_interrupted_and_the_other_completes(
    lake: Lake, tmp_path: Path
) -> None:
    settings = SparkSettings(remote=lake.server.url, timeout=8.0)
    slow = ProcedureCall(Action.REWRITE_DATA_FILES, SLOW_SQL)
    quick = ProcedureCall(Action.REWRITE_MANIFESTS, "SELECT 1 AS rewritten_manifests_count")
    app = ConnectApplication(
        settings,
        [
            (TableJob("table/lake.slow", (slow, quick), "p"), "lake"),
            (TableJob("table/lake.quick", (quick, quick), "p"), "lake"),
        ],
        state_dir=tmp_path,
        app_name="maintain-2-tables",
        pools={"p": 2},
    )
    started = time.monotonic()
    app.start()
    try:
        timed = app.result("table/lake.slow")
        done = app.result("table/lake.quick")
    finally:
        app.close()
    assert timed.timed_out and [r.ran for r in timed.results] == [False, False]
    assert time.monotonic() - started < 120  # not the 300 s of the sleep
    assert not done.timed_out and [r.ok for r in done.results] == [True, True]
    assert dict(done.results[0].result) == {"rewritten_manifests_count": 1}
    assert "timed out after 8s, interrupted" in app.log_file.read_text()


def test_each_tables_session_conf_applies_to_its_own_calls_only(lake: Lake, tmp_path: Path) -> None:
    """Tables at once (pool of 2, a worker reused for the third): a table's conf is set in
    its own session, never seen by another table, and kept for its later calls."""
    read = ProcedureCall(Action.REWRITE_MANIFESTS, PARTITIONS_SQL)
    seven = ProcedureCall(
        Action.REWRITE_DATA_FILES, PARTITIONS_SQL, (("spark.sql.shuffle.partitions", "7"),)
    )
    nine = replace(seven, session_conf=(("spark.sql.shuffle.partitions", "9"),))
    app = ConnectApplication(
        SparkSettings(remote=lake.server.url, timeout=60.0),
        [
            (TableJob("table/lake.seven", (seven, read), "p"), "lake"),
            (TableJob("table/lake.plain", (read, read, read), "p"), "lake"),
            (TableJob("table/lake.nine", (nine, read), "p"), "lake"),
        ],
        state_dir=tmp_path,
        app_name="maintain-3-tables",
        pools={"p": 2},
    )
    app.start()
    try:
        got = {key: app.result(f"table/lake.{key}") for key in ("seven", "plain", "nine")}
    finally:
        app.close()
    values = {
        key: [dict(r.result).get("partitions") for r in job.results] for key, job in got.items()
    }
    assert values == {"seven": [7, 7], "plain": [4, 4, 4], "nine": [9, 9]}


def test_a_catalog_the_server_does_not_know_fails_its_tables(lake: Lake, tmp_path: Path) -> None:
    """...and a table no longer ours when its turn comes is not touched."""
    quick = ProcedureCall(Action.REWRITE_MANIFESTS, "SELECT 1 AS rewritten_manifests_count")
    app = ConnectApplication(
        SparkSettings(remote=lake.server.url, timeout=60.0),
        [
            (TableJob("table/other.x", (quick,)), "other"),
            (TableJob("table/lake.y", (quick,)), "lake"),
            (TableJob("table/lake.gone", (quick,)), "lake"),
        ],
        state_dir=tmp_path,
        app_name="maintain-3-tables",
        pools={"default": 2},
        still_owned=lambda key: key != "table/lake.gone",
    )
    app.start()
    try:
        unknown = app.result("table/other.x")
        known = app.result("table/lake.y")
        gone = app.result("table/lake.gone")
    finally:
        app.close()
    assert [r.ok for r in gone.results] == [False]
    assert "no longer managed by the reconciler" in gone.results[0].error
    assert [r.ok for r in unknown.results] == [False]
    assert "catalog 'other' is not configured on the Spark Connect server" in (
        unknown.results[0].error
    )
    assert [r.ok for r in known.results] == [True]


def test_an_unreachable_server_fails_every_table(tmp_path: Path) -> None:
    quick = ProcedureCall(Action.REWRITE_MANIFESTS, "SELECT 1")
    app = ConnectApplication(
        SparkSettings(remote="sc://127.0.0.1:9", timeout=60.0),
        [(TableJob("table/lake.z", (quick,)), "lake")],
        state_dir=tmp_path,
        app_name="maintain-1-tables",
        pools={},
    )
    app.start()
    got = app.result("table/lake.z")
    app.close()
    assert not got.results[0].ok
    assert "cannot reach the Spark Connect server sc://127.0.0.1:9" in got.results[0].error


def test_a_gated_table_starts_at_its_release_and_one_never_released_ends_at_close(
    lake: Lake, tmp_path: Path
) -> None:
    """A table whose maintenance waits for an earlier line of its own starts only when it is
    released; one never released (its earlier line failed) is ended by close()."""
    quick = ProcedureCall(Action.REWRITE_MANIFESTS, "SELECT 1 AS rewritten_manifests_count")
    app = ConnectApplication(
        SparkSettings(remote=lake.server.url, timeout=60.0),
        [
            (TableJob("table/lake.first", (quick,), "p"), "lake"),
            (TableJob("table/lake.waits", (quick,), "p", gated=True), "lake"),
            (TableJob("table/lake.never", (quick,), "p", gated=True), "lake"),
        ],
        state_dir=tmp_path,
        app_name="maintain-3-tables",
        pools={"p": 2},
    )
    app.start()
    try:
        first = app.result("table/lake.first")
        time.sleep(2.0)  # a free worker of the pool: an ungated table would have run by now
        assert "table/lake.waits" not in app.log_file.read_text()
        app.release("table/lake.waits")
        waits = app.result("table/lake.waits")
    finally:
        app.close()
    never = app.result("table/lake.never")  # done at close, never run
    assert [r.ok for r in first.results] == [True] and [r.ok for r in waits.results] == [True]
    assert [r.ok for r in never.results] == [False]
    assert never.results[0].error == "the run was stopped"
    assert "table/lake.never rewrite_manifests" not in app.log_file.read_text()
