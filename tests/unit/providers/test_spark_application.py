"""The run's one Spark application, seen from the reconciler: records stream per table (one
table's outcome is there while another still runs), other output goes to the log, and a
hung application is killed at its deadline. A real subprocess stands in for spark-submit."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from reconciler.plan.change import Action
from reconciler.providers.spark.application import SparkApplication, TableJob, merge_catalogs
from reconciler.providers.spark.jobs import catalog_conf
from reconciler.providers.spark.procedures import ProcedureCall
from reconciler.settings import SparkSettings
from tests.unit.providers.spark_stand_in import stand_in_submit

STAND_IN = """\
import json, os, sys, time
here = os.path.dirname(sys.argv[0])
job = json.load(open(sys.argv[-1]))
def record(**r):
    print("@@reconciler-record " + json.dumps(r), flush=True)
print("INFO SparkContext: Running Spark version 4.0.1", flush=True)
record(application_id="local-1")
if os.path.exists(os.path.join(here, "hang")):
    time.sleep(600)
first, second = job["tables"]
record(table=first["key"], index=0, action="rewrite_manifests", status="ok",
       result={"rewritten_manifests_count": 3, "added_manifests_count": 1}, seconds=0.5)
record(table=first["key"], done=True)
while not os.path.exists(os.path.join(here, "go")):
    time.sleep(0.05)
record(table=second["key"], index=0, action="rewrite_manifests", status="failed",
       error="ValidationException: no", seconds=0.1)
record(table=second["key"], done=True)
"""
CALL = ProcedureCall(Action.REWRITE_MANIFESTS, "CALL lake.system.rewrite_manifests('t')")
PROPS = {"type": "sql", "uri": "sqlite:////tmp/c.db", "warehouse": "file:///tmp/w"}


def _application(tmp_path: Path, timeout: float = 60) -> SparkApplication:
    settings = SparkSettings(submit=stand_in_submit(tmp_path, STAND_IN), timeout=timeout)
    return SparkApplication(
        settings,
        merge_catalogs([catalog_conf("lake", PROPS), catalog_conf("other", PROPS)]),
        [TableJob("table/lake.a", (CALL,), "p"), TableJob("table/lake.b", (CALL,), "p")],
        state_dir=tmp_path / "state",
        app_name="maintain-2-tables",
        pools={"p": 2},
        env={"PATH": os.environ["PATH"]},
        startup_allowance=1,
    )


def test_one_tables_results_arrive_while_another_still_runs(tmp_path: Path) -> None:
    app = _application(tmp_path)
    app.start()
    try:
        first = app.result("table/lake.a")
        assert first.returncode is None  # the application still runs table b
        assert [(r.ok, dict(r.result)["rewritten_manifests_count"]) for r in first.results] == [
            (True, 3)
        ]
        waiting = threading.Thread(target=app.result, args=("table/lake.b",))
        waiting.start()
        waiting.join(timeout=0.5)
        assert waiting.is_alive()  # b has not reported yet
        (tmp_path / "go").touch()
        second = app.result("table/lake.b")
        assert second.results[0].ran and not second.results[0].ok
        assert second.results[0].error == "ValidationException: no"
    finally:
        app.close()
    assert app.application_id == "local-1"
    log = app.log_file.read_text()
    assert "Running Spark version" in log and "@@reconciler-record" not in log
    assert not list((tmp_path / "state" / "spark").glob("job-*.json"))  # secrets file removed


def test_a_hung_application_is_killed_at_its_deadline(tmp_path: Path) -> None:
    (tmp_path / "hang").touch()
    app = _application(tmp_path, timeout=1)  # deadline: 1 s x 1 round + 1 s
    app.start()
    result = app.result("table/lake.a")
    app.close()
    assert result.timed_out and result.returncode is not None
    assert [r.ran for r in result.results] == [False]


def test_catalogs_of_one_run_share_the_session_conf() -> None:
    merged = merge_catalogs([catalog_conf("lake", PROPS), catalog_conf("other", PROPS)])
    keys = {k for k, _ in merged.conf}
    assert "spark.sql.catalog.lake" in keys and "spark.sql.catalog.other" in keys
    assert merged.jars == ("/usr/share/java/sqlite-jdbc.jar",)
