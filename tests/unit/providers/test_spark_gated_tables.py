"""A table whose maintenance waits for an earlier line of its own (a retention delete) still
runs in the run's one Spark application: it waits there, gated, until its maintain line is
applied; a gated table never reached is withdrawn when the apply ends, and the job exits by
itself; a table waiting for another resource of the plan runs alone. A real subprocess
stands in for spark-submit and reads the release FIFO with job_main's own reader."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from reconciler.plan.change import Action, Change
from reconciler.plan.maintenance_ops import CallProcedure, fold
from reconciler.providers.spark.applier import SparkMaintenanceApplier
from reconciler.report.outcome import Status, per_call
from tests.unit.providers.spark_stand_in import stand_in_settings

# Runs non-gated tables at once; a gated one when its release arrives; at the FIFO's end it
# withdraws the rest. Every step is an event line in events.jsonl.
STAND_IN = """\
import json, os, queue, sys, threading
from reconciler.providers.spark.job_main import read_releases
here = os.path.dirname(sys.argv[0])
job = json.load(open(sys.argv[-1]))
def event(*words):
    with open(os.path.join(here, "events.jsonl"), "a") as out:
        out.write(json.dumps(list(words)) + "\\n")
def record(**r):
    print("@@reconciler-record " + json.dumps(r), flush=True)
if "tables" not in job:  # a job of its own: the single-table form
    results = [{"status": "ok", "result": {"n": i}} for i, _ in enumerate(job["calls"])]
    json.dump({"results": results}, open(job["result_file"], "w"))
    event("alone", job["app_name"])
    sys.exit(0)
def run(table):
    for index, call in enumerate(table["calls"]):
        record(table=table["key"], index=index, action=call["action"], status="ok",
               result={"n": index}, seconds=0.1)
    event("ran", table["key"])  # before its end: the test reads events once it is done
    record(table=table["key"], done=True)
event("start", job["app_name"], *sorted(t["key"] for t in job["tables"] if t.get("gated")))
gated = {t["key"]: t for t in job["tables"] if t.get("gated")}
for table in job["tables"]:
    if table["key"] not in gated:
        run(table)
if gated:
    fd = os.open(job["releases"], os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(fd, True)
    releases = queue.SimpleQueue()
    threading.Thread(target=read_releases, args=(os.fdopen(fd), releases), daemon=True).start()
    while gated:
        key = releases.get()
        if key is None:
            for key in sorted(gated):
                record(table=key, done=True, withdrawn=True)
                event("withdrawn", key)
            break
        event("released", key)
        run(gated.pop(key))
event("exit")
"""
WAITS = "table/lake.web.events"  # a retention delete comes first
ALONE = "table/lake.sales.orders"


def _maintain(address: str, depends_on: tuple[str, ...] = ()) -> Change:
    calls = (
        Change(
            address,
            Action.REWRITE_DATA_FILES,
            "display only",
            depends_on=depends_on,
            operations=(CallProcedure("rewrite_data_files", (("strategy", "binpack"),)),),
        ),
        Change(
            address,
            Action.REWRITE_MANIFESTS,
            "display only",
            depends_on=depends_on,
            operations=(CallProcedure("rewrite_manifests"),),
        ),
    )
    (line,) = fold(calls)
    return line


def _retention(address: str) -> Change:
    return Change(address, Action.DELETE_EXPIRED_ROWS, "40 rows with day older than 30d")


def _applier(tmp_path: Path) -> SparkMaintenanceApplier:
    settings = stand_in_settings(tmp_path, STAND_IN)
    root = str(Path(__file__).resolve().parents[3])  # the stand-in imports job_main
    return SparkMaintenanceApplier(settings, env={"PATH": os.environ["PATH"], "PYTHONPATH": root})


def _events(tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _logs(outcome_calls: list[object]) -> set[str]:
    return {str(dict(c.result)["log_file"]) for c in outcome_calls}  # type: ignore[attr-defined]


def test_a_gated_table_runs_in_the_shared_application_when_its_turn_comes(
    tmp_path: Path,
) -> None:
    applier = _applier(tmp_path)
    plan = (_retention(WAITS), _maintain(WAITS), _maintain(ALONE))
    applier.prepare(plan)
    first = applier.apply(plan[2])  # the other table starts the run's application
    assert first.status is Status.APPLIED, first.message
    # Its records are in: the gated table has not started, nobody released it yet.
    assert _events(tmp_path) == [["start", "maintain-2-tables", WAITS], ["ran", ALONE]]
    second = applier.apply(plan[1])  # its retention line has applied: its turn
    assert second.status is Status.APPLIED, second.message
    assert [c.status for c in per_call(second)] == [Status.APPLIED] * 2
    applier.close()
    assert _events(tmp_path)[2:] == [["released", WAITS], ["ran", WAITS], ["exit"]]
    logs = _logs([*per_call(first), *per_call(second)])
    assert len(logs) == 1 and "maintain-2-tables" in logs.pop()  # one application


def test_a_gated_table_never_reached_is_withdrawn_and_the_job_ends_by_itself(
    tmp_path: Path,
) -> None:
    applier = _applier(tmp_path)
    plan = (_retention(WAITS), _maintain(WAITS), _maintain(ALONE))
    applier.prepare(plan)
    assert applier.apply(plan[2]).status is Status.APPLIED
    # The retention delete failed: the executor skips the table's maintain line.
    applier.close()
    events = _events(tmp_path)
    assert events[-2:] == [["withdrawn", WAITS], ["exit"]]  # exited, not killed
    assert ["released", WAITS] not in events
    assert not list((tmp_path / "state" / "spark").glob("releases-*"))  # FIFO removed


def test_a_table_waiting_for_another_resource_runs_alone(tmp_path: Path) -> None:
    applier = _applier(tmp_path)
    late = _maintain(WAITS, depends_on=("container/hive",))
    plan = (Change("container/hive", Action.CREATE, "new"), late, _maintain(ALONE))
    applier.prepare(plan)
    assert applier.apply(plan[2]).status is Status.APPLIED
    assert _events(tmp_path)[0] == ["start", "maintain-1-tables"]  # nothing gated in it
    outcome = applier.apply(late)
    applier.close()
    assert outcome.status is Status.APPLIED, outcome.message
    assert _events(tmp_path)[-1] == ["alone", "maintain-lake.web.events"]


def test_a_start_that_fails_leaves_neither_job_file_nor_fifo(tmp_path: Path) -> None:
    settings = stand_in_settings(tmp_path, STAND_IN)
    missing = replace(settings, spark=replace(settings.spark, submit=str(tmp_path / "nowhere")))
    applier = SparkMaintenanceApplier(missing, env={"PATH": os.environ["PATH"]})
    plan = (_retention(WAITS), _maintain(WAITS), _maintain(ALONE))
    applier.prepare(plan)
    outcome = applier.apply(plan[2])
    applier.close()
    assert outcome.status is Status.FAILED
    assert "cannot start the Spark job" in outcome.message, outcome.message
    work = tmp_path / "state" / "spark"
    assert not list(work.glob("job-*")) and not list(work.glob("releases-*"))
