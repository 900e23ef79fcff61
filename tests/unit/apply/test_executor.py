"""The executor's promises: dependency order, bounded parallelism, one change at a time per
serial key, no retries of its own, stale on precondition failure, dependents skipped."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from reconciler.apply.errors import PermanentError, PreconditionFailed, TransientError
from reconciler.apply.executor import ExecutorOptions, execute
from reconciler.apply.retry import RetryPolicy
from reconciler.plan.change import Action, Change, FieldChange, Plan
from reconciler.plan.maintenance_ops import expand, fold
from reconciler.report.outcome import Outcome, Status

Behaviour = Callable[[Change, int], None]  # raises to fail; gets the attempt number


class RecordingApplier:
    """A real Applier (the port) whose work is sleeping and recording, for timing rules."""

    def __init__(
        self,
        behaviour: dict[str, Behaviour] | None = None,
        seconds: float = 0.05,
        serial: Callable[[Change], str] | None = None,
    ) -> None:
        self.behaviour = behaviour or {}
        self.seconds = seconds
        self.serial = serial or (lambda change: change.address)
        self.log: list[tuple[str, str, float]] = []
        self.attempts: dict[str, int] = {}
        self.active = 0
        self.max_active = 0
        self.active_by_key: dict[str, int] = {}
        self.overlap_by_key = False
        self.lock = threading.Lock()

    def handles(self, change: Change) -> bool:
        return change.address.startswith("container/")

    def serial_key(self, change: Change) -> str:
        return self.serial(change)

    def apply(self, change: Change) -> Outcome:
        key = self.serial_key(change)
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.active_by_key[key] = self.active_by_key.get(key, 0) + 1
            self.overlap_by_key |= self.active_by_key[key] > 1
            attempt = self.attempts[change.address] = self.attempts.get(change.address, 0) + 1
            self.log.append(("start", f"{change.address}:{change.action.value}", time.monotonic()))
        try:
            time.sleep(self.seconds)
            if change.address in self.behaviour:
                self.behaviour[change.address](change, attempt)
            return Outcome(change.address, change.action, Status.APPLIED, "ok")
        finally:
            with self.lock:
                self.active -= 1
                self.active_by_key[key] -= 1
                self.log.append(
                    ("end", f"{change.address}:{change.action.value}", time.monotonic())
                )


def _change(name: str, action: Action = Action.CREATE, *deps: str) -> Change:
    return Change(
        f"container/{name}", action, "test", depends_on=tuple(f"container/{d}" for d in deps)
    )


def _index(applier: RecordingApplier, event: str, label: str) -> int:
    return next(i for i, (e, lbl, _) in enumerate(applier.log) if e == event and lbl == label)


def test_dependencies_finish_before_dependents_start() -> None:
    plan = Plan(
        (
            _change("minio"),
            _change("hive", Action.CREATE, "minio"),
            _change("spark", Action.CREATE, "minio", "hive"),
            _change("kafka"),
        )
    )
    applier = RecordingApplier()
    outcomes = execute(plan, [applier], ExecutorOptions(parallelism=4))
    assert [o.status for o in outcomes] == [Status.APPLIED] * 4
    assert _index(applier, "end", "container/minio:create") < _index(
        applier, "start", "container/hive:create"
    )
    assert _index(applier, "end", "container/hive:create") < _index(
        applier, "start", "container/spark:create"
    )
    assert applier.max_active >= 2  # kafka is independent: it ran beside minio


def test_parallelism_is_bounded() -> None:
    plan = Plan(tuple(_change(f"ct{i}") for i in range(6)))
    applier = RecordingApplier(seconds=0.05)
    execute(plan, [applier], ExecutorOptions(parallelism=2))
    assert applier.max_active == 2


def test_one_change_at_a_time_per_serial_key() -> None:
    plan = Plan(tuple(_change(f"ct{i}") for i in range(4)))
    applier = RecordingApplier(serial=lambda change: "ct:100")  # all share one VMID
    execute(plan, [applier], ExecutorOptions(parallelism=4))
    assert not applier.overlap_by_key and applier.max_active == 1


def test_a_resources_lines_run_in_order_and_a_failure_skips_the_rest() -> None:
    def fail_update(change: Change, attempt: int) -> None:
        if change.action is Action.UPDATE:
            raise PermanentError("unable to hotplug memory")

    plan = Plan(
        (
            _change("minio", Action.UPDATE),
            _change("minio", Action.RESIZE),
            _change("hive", Action.UPDATE, "minio"),
            _change("kafka", Action.UPDATE),
        )
    )
    applier = RecordingApplier({"container/minio": fail_update})
    outcomes = {
        (o.address, o.action): o for o in execute(plan, [applier], ExecutorOptions(parallelism=2))
    }
    assert outcomes[("container/minio", Action.UPDATE)].status is Status.FAILED
    assert outcomes[("container/minio", Action.RESIZE)].status is Status.SKIPPED
    hive = outcomes[("container/hive", Action.UPDATE)]
    assert hive.status is Status.SKIPPED and "container/minio" in hive.message
    assert outcomes[("container/kafka", Action.UPDATE)].status is Status.APPLIED
    assert "container/hive:update" not in {label for _, label, _ in applier.log}


def test_the_executor_never_retries_a_transient_error() -> None:
    def busy(change: Change, attempt: int) -> None:
        raise TransientError("CT is locked (backup) after 5 attempts", delay=0.01)

    applier = RecordingApplier({"container/minio": busy}, seconds=0)
    plan = Plan((_change("minio", Action.UPDATE), _change("kafka", Action.UPDATE, "minio")))
    outcomes = execute(plan, [applier], ExecutorOptions(parallelism=2))
    assert applier.attempts == {"container/minio": 1}  # the applier owns its retries
    assert outcomes[0].status is Status.FAILED
    assert outcomes[0].message == "CT is locked (backup) after 5 attempts"
    assert outcomes[1].status is Status.SKIPPED


def test_retries_inside_an_applier_reach_the_listener_as_progress() -> None:
    """The watchdog and the CLI hear of a provider's retry (the executor itself retries none)."""
    slept: list[float] = []
    policy = RetryPolicy(attempts=3, sleep=slept.append, uniform=lambda: 0.0)

    class Retrying(RecordingApplier):
        def apply(self, change: Change) -> Outcome:
            return policy.call("update", lambda: RecordingApplier.apply(self, change))

    def flaky(change: Change, attempt: int) -> None:
        if attempt < 3:
            raise TransientError(f"CT is locked ({attempt})", delay=0.5)

    events: list[tuple[str, str]] = []
    applier = Retrying({"container/minio": flaky}, seconds=0)
    (outcome,) = execute(
        Plan((_change("minio", Action.UPDATE),)),
        [applier],
        listener=lambda event, change, o: events.append((event, o.message if o else "")),
    )
    assert outcome.status is Status.APPLIED and slept == [0.5, 1.0]
    assert events == [
        ("start", ""),
        ("retry", "CT is locked (1)"),
        ("retry", "CT is locked (2)"),
        ("done", "ok"),
    ]


def test_a_dependency_cycle_skips_its_members_and_runs_the_rest() -> None:
    plan = Plan(
        (
            _change("a", Action.CREATE, "b"),
            _change("b", Action.CREATE, "a"),
            _change("c", Action.CREATE, "a"),
            _change("d"),
        )
    )
    applier = RecordingApplier(seconds=0)
    outcomes = {o.address: o for o in execute(plan, [applier])}
    assert outcomes["container/a"].message == "dependency cycle"
    assert outcomes["container/b"].message == "dependency cycle"
    assert outcomes["container/c"].status is Status.SKIPPED
    assert "container/a did not apply" in outcomes["container/c"].message
    assert outcomes["container/d"].status is Status.APPLIED
    assert {label for _, label, _ in applier.log} == {"container/d:create"}


def test_outcome_seconds_come_from_the_injected_clock() -> None:
    ticks = iter([10.0, 12.5])
    applier = RecordingApplier(seconds=0)
    (outcome,) = execute(
        Plan((_change("minio"),)), [applier], ExecutorOptions(clock=lambda: next(ticks))
    )
    assert outcome.seconds == 2.5


def test_precondition_failure_is_stale_and_not_retried() -> None:
    def moved(change: Change, attempt: int) -> None:
        raise PreconditionFailed("detected modified configuration")

    applier = RecordingApplier({"container/minio": moved}, seconds=0)
    (outcome,) = execute(Plan((_change("minio", Action.UPDATE),)), [applier])
    assert outcome.status is Status.STALE and applier.attempts["container/minio"] == 1


def test_report_only_lines_never_reach_an_applier() -> None:
    plan = Plan(
        (
            Change("container/minio", Action.REFUSE, "shrink"),
            Change("container/old", Action.ORPHAN, "not in specs"),
            Change("container/x", Action.CONFLICT, "not ours"),
        )
    )
    applier = RecordingApplier(seconds=0)
    assert execute(plan, [applier]) == ()
    assert applier.log == []


def test_a_change_no_applier_handles_fails_clearly() -> None:
    (outcome,) = execute(
        Plan((Change("table/lake.a.b", Action.CREATE, "absent"),)), [RecordingApplier()]
    )
    assert outcome.status is Status.FAILED and "no provider" in outcome.message


def test_an_unexpected_error_fails_that_change_only() -> None:
    def bug(change: Change, attempt: int) -> None:
        raise ValueError("Expecting value: line 1 column 1 (char 0)")

    plan = Plan((_change("minio"), _change("kafka")))
    outcomes = {
        o.address: o for o in execute(plan, [RecordingApplier({"container/minio": bug}, seconds=0)])
    }
    assert outcomes["container/minio"].status is Status.FAILED
    assert "unexpected ValueError" in outcomes["container/minio"].message
    assert outcomes["container/kafka"].status is Status.APPLIED


def test_dependents_wait_for_dependencies_that_are_not_ours_or_not_created() -> None:
    refused_create = Change(
        "container/minio",
        Action.REFUSE,
        "cannot create: bind mounts",
        fields=(FieldChange("mountpoints[1].hostPath", None, "/tank"),),
    )
    shrink_refused = Change(
        "container/kafka",
        Action.REFUSE,
        "rootfs would shrink",
        fields=(FieldChange("rootfs.size", "20GiB", "8GiB"),),
    )
    plan = Plan(
        (
            refused_create,
            shrink_refused,
            Change("container/x", Action.CONFLICT, "vmid used by someone else"),
            _change("hive", Action.CREATE, "minio"),
            _change("spark", Action.CREATE, "x"),
            _change("airflow", Action.CREATE, "kafka"),
        )
    )
    applier = RecordingApplier(seconds=0)
    outcomes = {o.address: o for o in execute(plan, [applier])}
    assert outcomes["container/hive"].status is Status.SKIPPED
    assert "container/minio could not be created" in outcomes["container/hive"].message
    assert outcomes["container/spark"].status is Status.SKIPPED
    assert "not managed by the reconciler" in outcomes["container/spark"].message
    assert (
        outcomes["container/airflow"].status is Status.APPLIED
    )  # kafka exists, only its shrink is refused


class MaintainRecorder:
    """The maintain line's applier as the executor sees it: one line, one apply call; a
    failed call fails the line (its Outcome names the call, as the Spark applier does)."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    def handles(self, change: Change) -> bool:
        return change.action is Action.MAINTAIN

    def serial_key(self, change: Change) -> str:
        return change.address

    def apply(self, change: Change) -> Outcome:
        self.calls.append([c.action.value for c in expand(change)])
        if self.fail:
            return Outcome(change.address, change.action, Status.FAILED, "expire_snapshots: boom")
        return Outcome(change.address, change.action, Status.APPLIED, "ok")


class TableUpdater(RecordingApplier):
    def handles(self, change: Change) -> bool:
        return change.action is Action.UPDATE


def _table_lines() -> Plan:
    address = "table/lake.a.t"
    return Plan(
        (
            Change(address, Action.UPDATE, "schema"),
            *fold(
                (
                    Change(address, Action.REWRITE_DATA_FILES, "m"),
                    Change(address, Action.EXPIRE_SNAPSHOTS, "m"),
                )
            ),
        )
    )


def test_a_maintain_line_is_one_apply_call_after_the_tables_other_lines() -> None:
    lines, updater = MaintainRecorder(), TableUpdater(seconds=0)
    events: list[tuple[str, str]] = []
    outcomes = execute(
        _table_lines(), [updater, lines], listener=lambda e, c, o: events.append((e, c.action))
    )
    assert lines.calls == [["rewrite_data_files", "expire_snapshots"]]
    assert [o.status for o in outcomes] == [Status.APPLIED] * 2
    assert [o.action for o in outcomes] == [Action.UPDATE, Action.MAINTAIN]
    assert [e for e, a in events if a is Action.MAINTAIN] == ["start", "done"]


def test_a_failed_maintain_line_fails_and_a_failed_update_skips_it() -> None:
    outcomes = execute(_table_lines(), [TableUpdater(seconds=0), MaintainRecorder(fail=True)])
    assert [o.status for o in outcomes] == [Status.APPLIED, Status.FAILED]
    assert outcomes[1].message == "expire_snapshots: boom"

    def fail(change: Change, attempt: int) -> None:
        raise PermanentError("no")

    untouched = MaintainRecorder()
    updater = TableUpdater({"table/lake.a.t": fail}, seconds=0)
    outcomes = execute(_table_lines(), [updater, untouched])
    assert [o.status for o in outcomes] == [Status.FAILED, Status.SKIPPED]
    assert untouched.calls == []
