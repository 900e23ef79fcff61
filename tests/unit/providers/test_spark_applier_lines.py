"""SparkMaintenanceApplier from the lines alone: the CALLs come from their CallProcedure
operations of a maintain line (cutoffs from the injected clock), a commit conflict is retried
from that call on (the calls before it are not run twice), a failed call names itself and the
later ones are not run, and no state is kept between lines. A real
subprocess stands in for spark-submit."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from reconciler.apply.retry import RetryPolicy
from reconciler.plan.change import Action, Change
from reconciler.plan.maintenance_ops import CallProcedure, fold
from reconciler.providers.spark.applier import SparkMaintenanceApplier
from reconciler.report.outcome import Status, per_call
from tests.unit.providers.spark_stand_in import stand_in_settings

# Records every job's SQL in runs.jsonl; the first job's second call hits a commit conflict.
# It speaks both forms: the shared application (records on stdout, per table) and a job of
# its own (a result file).
STAND_IN = """\
import json, os, sys
here = os.path.dirname(sys.argv[0])
job = json.load(open(sys.argv[-1]))
runs = os.path.join(here, "runs.jsonl")
first = not os.path.exists(runs)
tables = job.get("tables") or [{"key": None, "calls": job["calls"]}]
results = []
for table in tables:
    with open(runs, "a") as out:
        out.write(json.dumps([c["sql"] for c in table["calls"]]) + "\\n")
    for index, call in enumerate(table["calls"]):
        if first and index == 1:
            item = {"status": "failed", "error": "CommitFailedException: x", "conflict": True}
        else:
            item = {"status": "ok", "result": {"n": index}, "seconds": 0.1}
        results.append(item)
        if table["key"] is not None:
            record = {"table": table["key"], "index": index, "action": call["action"], **item}
            print("@@reconciler-record " + json.dumps(record), flush=True)
        if item["status"] != "ok":
            break
    if table["key"] is not None:
        print("@@reconciler-record " + json.dumps({"table": table["key"], "done": True}))
if "result_file" in job:
    json.dump({"results": results}, open(job["result_file"], "w"))
"""
ADDRESS = "table/lake.sales.orders"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _lines() -> tuple[Change, ...]:
    calls = (
        (
            Action.REWRITE_DATA_FILES,
            CallProcedure("rewrite_data_files", (("strategy", "binpack"),)),
        ),
        (
            Action.EXPIRE_SNAPSHOTS,
            CallProcedure("expire_snapshots", (("retain_last", 5),), (), 86400),
        ),
        (Action.REMOVE_ORPHAN_FILES, CallProcedure("remove_orphan_files", (), (), 3 * 86400)),
    )
    return tuple(Change(ADDRESS, a, "display only", operations=(op,)) for a, op in calls)


def _line() -> Change:
    """The table's maintain line: the three calls in order."""
    (line,) = fold(_lines())
    return line


def _applier(tmp_path: Path, attempts: int = 3) -> SparkMaintenanceApplier:
    settings = stand_in_settings(tmp_path, STAND_IN)
    return SparkMaintenanceApplier(
        settings,
        env={"PATH": os.environ["PATH"]},
        retry=RetryPolicy(attempts=attempts, sleep=lambda s: None),
        clock=lambda: NOW,
    )


def test_a_conflict_resumes_from_that_call_and_every_call_gets_its_outcome(
    tmp_path: Path,
) -> None:
    applier = _applier(tmp_path)
    applier.prepare((_line(),))  # a table with maintenance only: the shared application
    outcome = applier.apply(_line())
    calls = per_call(outcome)
    assert outcome.action is Action.MAINTAIN and outcome.status is Status.APPLIED, outcome.message
    assert [c.status for c in calls] == [Status.APPLIED] * 3, [c.message for c in calls]
    assert [c.action for c in calls] == [c.action for c in _lines()]
    runs = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert [len(r) for r in runs] == [3, 2]  # the retry ran expiry and orphans, not the rewrite
    expire, orphans = runs[1]
    assert "older_than => TIMESTAMP '2026-03-09 12:00:00+00:00', retain_last => 5" in expire
    assert "older_than => TIMESTAMP '2026-03-07 12:00:00+00:00'" in orphans
    assert "strategy => 'binpack'" in runs[0][0]
    logs = [str(dict(c.result)["log_file"]) for c in calls]
    assert "maintain-1-tables" in logs[0]  # the run's shared application
    assert all("maintain-lake.sales.orders" in log for log in logs[1:])  # the retry, alone


def test_a_failing_second_call_names_itself_and_the_third_is_not_run(tmp_path: Path) -> None:
    applier = _applier(tmp_path, attempts=1)  # the conflict is not retried: it fails
    outcome = applier.apply(_line())
    assert outcome.status is Status.FAILED
    assert outcome.message.startswith("expire_snapshots failed: CommitFailedException: x")
    assert outcome.message.endswith("(not run: remove_orphan_files)")
    calls = per_call(outcome)
    assert [(c.action, c.status) for c in calls] == [
        (Action.REWRITE_DATA_FILES, Status.APPLIED),
        (Action.EXPIRE_SNAPSHOTS, Status.FAILED),
        (Action.REMOVE_ORPHAN_FILES, Status.SKIPPED),
    ]
    runs = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert len(runs) == 1 and len(runs[0]) == 3  # one job; the orphans call never ran


def test_a_line_without_its_procedure_calls_fails_before_any_job(tmp_path: Path) -> None:
    applier = _applier(tmp_path)
    bare = Change(
        ADDRESS,
        Action.MAINTAIN,
        "no operation",
        options=(("calls", [{"procedure": "rewrite_data_files", "reason": "x", "options": {}}]),),
    )
    outcome = applier.apply(bare)
    assert outcome.status is Status.FAILED
    assert "carries no matching procedure" in outcome.message
    assert not (tmp_path / "runs.jsonl").exists()  # no job was started for it
