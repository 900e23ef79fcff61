"""Compaction tuning (file groups, concurrency, partial progress, session conf) and cost/benefit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from reconciler.diff.compaction_tuning import (
    Cluster,
    RewriteRun,
    cluster_of,
    estimate,
    tune,
)
from reconciler.diff.maintenance import assess_table
from reconciler.model.health import SnapshotInfo, TableHealth
from reconciler.model.policies import Compaction, MaintenancePolicy
from reconciler.model.tables import TableSpec
from reconciler.plan.change import Action, Plan
from reconciler.plan.maintenance_ops import CallProcedure, expand
from reconciler.plan.operations import decode_operations
from reconciler.plan.saved import SavedPlan, saved_from_dict, saved_to_json, stale_reason
from reconciler.plan.serialize import change_to_dict

MIB = 1024**2
GIB = 1024**3
RULE = Compaction(small_file_size=32 * MIB, min_small_files=2, target_file_size=128 * MIB)


def _health(small: int, small_bytes: int | None, total: int = 0) -> TableHealth:
    return TableHealth(
        "table/lake.db.t",
        data_files=small,
        total_bytes=total or (small_bytes or 0),
        snapshots=(SnapshotInfo(1, 0),),
        current_snapshot_id=1,
        small_files=small,
        small_file_partitions=1,
        small_file_size=32 * MIB,
        small_file_bytes=small_bytes,
    )


def test_cluster_cores_come_from_the_config_first_then_master_then_executors() -> None:
    assert cluster_of("local[2]", {}, cores=16) == Cluster(16, "spark.cores")
    assert cluster_of("local[3]", {}).cores == 3
    assert cluster_of("local", {}).cores == 1
    both = {"spark.executor.cores": "4", "spark.executor.instances": "5"}
    assert cluster_of("spark://m:7077", both).cores == 20
    assert cluster_of("spark://m:7077", {"spark.cores.max": "12"}).cores == 12
    assert cluster_of("local[*]", {}) == Cluster(4, "default")
    assert cluster_of("yarn", {}, partial_progress_bytes=5).partial_progress_bytes == 5


def test_small_table_is_one_group_of_one_target_file() -> None:
    # 400 files, 63 MB on 2 cores: groups are whole target files (what the policy asks for),
    # so a table under one target file stays one group: no split into small outputs.
    tuning = tune(RULE, _health(400, 63_000_000), Cluster(2))
    options = dict(tuning.options)
    assert options["max-file-group-size-bytes"] == str(128 * MIB)
    assert options["max-concurrent-file-group-rewrites"] == "2"
    assert options["min-input-files"] == "2"
    assert options["target-file-size-bytes"] == str(128 * MIB)
    assert tuning.groups == 1
    assert "partial-progress.enabled" not in options
    # Iceberg sets the group's split size and open cost itself: binpack sends no Spark conf,
    # so the call runs in the application's session (no session of its own to set up).
    assert tuning.session_conf == ()


def test_mid_table_is_split_one_group_per_core() -> None:
    # 1 GiB on 4 cores: one group would be one Spark job of 8 tasks after another; four
    # groups of 256 MiB (two target files each) run at once.
    tuning = tune(RULE, _health(600, GIB), Cluster(4))
    assert dict(tuning.options)["max-file-group-size-bytes"] == str(256 * MIB)
    assert tuning.groups == 4


def test_big_small_file_threshold_keeps_groups_above_it() -> None:
    rule = Compaction(small_file_size=100 * MIB, target_file_size=128 * MIB)
    tuning = tune(rule, _health(600, GIB), Cluster(16))
    # 1 GiB / 16 = 64 MiB, but a group's output must not be a small file again: 200 MiB,
    # rounded to whole target files: 256 MiB.
    assert dict(tuning.options)["max-file-group-size-bytes"] == str(256 * MIB)


def test_large_table_groups_are_whole_target_files_and_commit_with_partial_progress() -> None:
    size = 40 * GIB
    tuning = tune(RULE, _health(5000, size), Cluster(8, partial_progress_bytes=10 * GIB))
    options = dict(tuning.options)
    assert options["max-file-group-size-bytes"] == str(5 * GIB)  # 40 GiB / 8, 128 MiB multiple
    assert tuning.groups == 8
    assert options["max-concurrent-file-group-rewrites"] == "8"
    assert options["partial-progress.enabled"] == "true"
    assert options["partial-progress.max-commits"] == "8"
    # Under the threshold: one commit, as Iceberg does by default.
    quiet = dict(
        tune(RULE, _health(5000, size), Cluster(8, partial_progress_bytes=50 * GIB)).options
    )
    assert "partial-progress.enabled" not in quiet


def test_policy_concurrency_wins_and_sort_sets_shuffle_partitions() -> None:
    rule = Compaction(
        small_file_size=32 * MIB, target_file_size=128 * MIB, max_concurrent_file_groups=3
    )
    tuning = tune(rule, _health(500, 2 * GIB), Cluster(8), sort=True)
    assert dict(tuning.options)["max-concurrent-file-group-rewrites"] == "3"
    assert dict(tuning.session_conf) == {"spark.sql.shuffle.partitions": "16"}  # 8 groups x 2


def test_estimate_uses_the_median_rate_of_the_tables_own_history() -> None:
    health = _health(100, 1000 * MIB)
    tuning = tune(RULE, health, Cluster(4))
    runs = [RewriteRun(100 * MIB, 10.0), RewriteRun(100 * MIB, 20.0), RewriteRun(100 * MIB, 900.0)]
    cost = estimate(RULE, health, tuning, runs)
    assert cost.bytes_to_rewrite == 1000 * MIB
    assert cost.files_to_rewrite == 100
    assert cost.files_after == 8  # ceil(1000 / 128)
    assert cost.seconds == 200.0  # median 0.2 s per MiB, the 900 s outlier ignored
    assert cost.history_runs == 3
    assert "about 3m (from the median of its last 3 rewrites)" in cost.text()
    none = estimate(RULE, health, tuning, [RewriteRun(0, 5.0)])  # nothing rewritten: no rate
    assert none.seconds is None and none.to_dict()["estimated_seconds"] is None
    assert "no history for an estimate" in none.text()


def test_without_file_bytes_the_cost_uses_the_average_file_size() -> None:
    health = _health(10, None, total=20 * MIB)  # 10 files averaging 2 MiB
    cost = estimate(RULE, health, tune(RULE, health, Cluster(2)), ())
    assert cost.bytes_to_rewrite == 20 * MIB
    assert cost.files_after == 1


def test_plan_line_carries_tuning_cost_and_session_conf() -> None:
    table = TableSpec("lake", ("db",), "t", fields=(), policy="p")
    policy = MaintenancePolicy(name="p", compaction=RULE)
    health = _health(400, 63_000_000)
    history = (RewriteRun(63_000_000, 6.3),)
    now = datetime(2025, 3, 1, tzinfo=UTC)
    (line,) = assess_table(table, policy, health, now, cluster=Cluster(2), history=history).changes
    assert line.action is Action.MAINTAIN
    doc = change_to_dict(expand(line)[0])  # the call as the v1 JSON document shows it
    options = doc["options"]
    assert isinstance(options, dict)
    assert options["estimate"] == {
        "bytes_to_rewrite": 63_000_000,
        "files_to_rewrite": 400,
        "files_after": 1,
        "estimated_seconds": 6.3,
        "history_runs": 1,
    }
    assert options["max-file-group-size-bytes"] == str(128 * MIB)
    assert "rewrites 400 files (60.1MiB) into ~1; about 6.3s (from its last rewrite)" in line.reason
    assert "1 file group of up to 128.0MiB, 2 at once (2 cores: default)" in line.reason
    (call,) = line.operations
    assert isinstance(call, CallProcedure)
    assert call.session_conf == ()  # binpack: no Spark conf, and no `session_conf` in JSON
    assert "session_conf" not in call.to_dict() and "spark_conf" not in options
    assert ("max-concurrent-file-group-rewrites", "2") in call.options
    assert "estimate" not in dict(call.args)  # display only, never a procedure argument
    assert decode_operations([call.to_dict()], "t") == (call,)


def test_a_saved_plan_stays_fresh_when_only_the_estimate_moved() -> None:
    table = TableSpec("lake", ("db",), "t", fields=(), policy="p")
    policy = MaintenancePolicy(name="p", compaction=RULE)
    health = _health(400, 63_000_000)
    now = datetime(2025, 3, 1, tzinfo=UTC)

    def plan(history: tuple[RewriteRun, ...], cores: int) -> Plan:
        found = assess_table(table, policy, health, now, cluster=Cluster(cores), history=history)
        return Plan(found.changes)

    saved_plan = plan((), 2)
    saved = saved_from_dict(
        json.loads(saved_to_json(SavedPlan(saved_plan, None, "sha256:0", "2025-03-01", "test")))
    )
    # Another rewrite was recorded since: the estimate differs, the instruction does not.
    assert stale_reason(saved, plan((RewriteRun(1000, 1.0),), 2)) is None
    # The cluster changed: the call itself differs, so the saved plan is stale.
    reason = stale_reason(saved, plan((), 8))
    assert reason is not None and "differ" in reason


def test_the_job_file_carries_the_calls_session_conf() -> None:
    from reconciler.providers.spark.procedures import procedure_call

    conf = (("spark.sql.shuffle.partitions", "4"),)
    tuned = CallProcedure("rewrite_data_files", (("strategy", "sort"),), session_conf=conf)
    now = datetime(2025, 3, 1, tzinfo=UTC)
    job = procedure_call("lake", ("db", "t"), tuned, now).to_job()
    assert job["conf"] == {"spark.sql.shuffle.partitions": "4"}
    assert job["action"] == "rewrite_data_files"
    plain = procedure_call("lake", ("db", "t"), CallProcedure("rewrite_manifests"), now).to_job()
    assert "conf" not in plain  # the job file of an untuned call is as before
