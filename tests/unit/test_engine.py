"""The engine's orchestration through fake ports (our own protocols, not SDKs): real spec files,
the real differ, planner and executor; fake observers and appliers record what they were asked."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from reconciler.apply.errors import PermanentError
from reconciler.apply.ports import Applier
from reconciler.cli.exit_codes import EXIT_ERROR, EXIT_OK, EXIT_REFUSED, apply_exit_code
from reconciler.deps import Deps
from reconciler.engine import NotPlanned, RunOptions, plan_once, reconcile_once
from reconciler.model.containers import (
    OWNER_TAG,
    ContainerSpec,
    GuestSummary,
    ObservedContainer,
    PowerState,
)
from reconciler.model.desired import Desired
from reconciler.observe.containers import ContainerInventory
from reconciler.plan.change import Action, Change, Plan
from reconciler.plan.serialize import plan_exit_code
from reconciler.report.conditions import CycleError, Reason
from reconciler.report.outcome import Outcome, Status
from reconciler.settings import Settings

TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


def container(name: str, vmid: int, *, needs: Sequence[str] = (), drift: str = "enforce") -> str:
    return f"""apiVersion: reconciler/v1
kind: Container
metadata: {{name: {name}}}
spec:
  vmid: {vmid}
  node: pve
  hostname: {name}
  template: {TEMPLATE}
  cores: 1
  memory: 512MiB
  rootfs: {{storage: local-lvm, size: 8GiB}}
  dependsOn: [{", ".join(needs)}]
  drift: {drift}
"""


@dataclass
class RecordingApplier:
    """Carries out container lines by recording them; `fail` names addresses that fail."""

    fail: frozenset[str] = frozenset()
    applied: list[tuple[str, Action]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handles(self, change: Change) -> bool:
        return change.address.startswith("container/")

    def serial_key(self, change: Change) -> str:
        return change.address

    def apply(self, change: Change) -> Outcome:
        if change.address in self.fail:
            raise PermanentError(f"{change.address}: the fake PVE said no")
        with self.lock:
            self.applied.append((change.address, change.action))
        return Outcome(change.address, change.action, Status.APPLIED, "done")


@dataclass
class FakeProxmox:
    """A ContainerObserver over a fixed inventory; counts its calls."""

    inventory: ContainerInventory = field(default_factory=ContainerInventory)
    error: Exception | None = None
    calls: int = 0

    def __call__(self, specs: Sequence[ContainerSpec], /) -> ContainerInventory:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.inventory


@pytest.fixture
def lake(tmp_path: Path) -> Settings:
    (tmp_path / "specs" / "containers").mkdir(parents=True)
    return Settings(config_file=None, specs=tmp_path / "specs", state_dir=tmp_path / "state")


def write(settings: Settings, name: str, text: str) -> None:
    (settings.specs / "containers" / f"{name}.yaml").write_text(text)


def deps_for(observer: FakeProxmox, applier: RecordingApplier) -> Deps:
    def appliers(desired: Desired, plan: Plan) -> Sequence[Applier]:
        return (applier,)

    return Deps(observe_containers=observer, appliers=appliers)


def owned_copy(spec: ContainerSpec, *, rootfs_factor: int = 1) -> ObservedContainer:
    """The CT as PVE would report it for `spec`, ours, with its disk `rootfs_factor` times."""
    settings = spec.settings
    assert settings.rootfs is not None
    bigger = replace(settings.rootfs, size_bytes=settings.rootfs.size_bytes * rootfs_factor)
    tags = tuple(sorted({*settings.tags, OWNER_TAG}))
    return ObservedContainer(
        spec.vmid, "pve", PowerState.RUNNING, replace(settings, rootfs=bigger, tags=tags), "d1"
    )


def inventory_of(*observed: tuple[ContainerSpec, ObservedContainer]) -> ContainerInventory:
    guests = tuple(
        GuestSummary(o.vmid, "pve", "lxc", spec.name, "running", (OWNER_TAG,))
        for spec, o in observed
    )
    return ContainerInventory(guests=guests, observed={o.vmid: o for _, o in observed})


def test_apply_creates_in_dependency_order_and_exits_0(lake: Settings) -> None:
    write(lake, "b", container("b", 202, needs=["container/a"]))
    write(lake, "a", container("a", 201))
    applier = RecordingApplier()
    report = reconcile_once(
        lake, None, RunOptions(apply=True), "rev1", deps_for(FakeProxmox(), applier)
    )
    assert applier.applied == [("container/a", Action.CREATE), ("container/b", Action.CREATE)]
    assert [(o.address, o.status) for o in report.outcomes] == [
        ("container/a", Status.APPLIED),
        ("container/b", Status.APPLIED),
    ]
    assert report.revision == "rev1" and report.error is None and not report.failed
    assert apply_exit_code(report.plan, report.outcomes, bool(report.error)) == EXIT_OK


def test_plan_only_applies_nothing_and_exits_2(lake: Settings) -> None:
    write(lake, "a", container("a", 201))
    applier = RecordingApplier()
    report = reconcile_once(lake, None, RunOptions(), None, deps_for(FakeProxmox(), applier))
    assert applier.applied == [] and report.outcomes == ()
    assert [(c.address, c.action) for c in report.plan.changes] == [("container/a", Action.CREATE)]
    assert plan_exit_code(report.plan) == 2


def test_a_failed_dependency_skips_its_dependents_and_exits_1(lake: Settings) -> None:
    write(lake, "a", container("a", 201))
    write(lake, "b", container("b", 202, needs=["container/a"]))
    write(lake, "c", container("c", 203))
    applier = RecordingApplier(fail=frozenset({"container/a"}))
    report = reconcile_once(
        lake, None, RunOptions(apply=True), None, deps_for(FakeProxmox(), applier)
    )
    statuses = {o.address: o.status for o in report.outcomes}
    assert statuses == {
        "container/a": Status.FAILED,
        "container/b": Status.SKIPPED,
        "container/c": Status.APPLIED,
    }
    assert applier.applied == [("container/c", Action.CREATE)]
    assert report.failed
    assert apply_exit_code(report.plan, report.outcomes, bool(report.error)) == EXIT_ERROR


def test_a_refused_line_never_reaches_the_applier_and_exits_3(lake: Settings) -> None:
    write(lake, "a", container("a", 201))
    write(lake, "b", container("b", 202))
    first = plan_once(lake, None, RunOptions(), Deps())
    assert first.planned is not None
    spec_a, spec_b = first.planned.desired.containers
    # a's disk is twice the spec's (a shrink: refused); b exists exactly as specified.
    observer = FakeProxmox(
        inventory_of((spec_a, owned_copy(spec_a, rootfs_factor=2)), (spec_b, owned_copy(spec_b)))
    )
    applier = RecordingApplier()
    report = reconcile_once(lake, None, RunOptions(apply=True), None, deps_for(observer, applier))
    assert [(c.address, c.action) for c in report.plan.changes] == [("container/a", Action.REFUSE)]
    assert "shrink" in report.plan.changes[0].reason
    assert applier.applied == [] and report.outcomes == ()
    assert apply_exit_code(report.plan, report.outcomes, bool(report.error)) == EXIT_REFUSED


def test_drift_cycles_heal_enforce_specs_only(lake: Settings) -> None:
    write(lake, "a", container("a", 201, drift="enforce"))
    write(lake, "w", container("w", 202, drift="warn"))
    applier = RecordingApplier()
    report = reconcile_once(
        lake, None, RunOptions(apply=True, drift_only=True), None, deps_for(FakeProxmox(), applier)
    )
    assert applier.applied == [("container/a", Action.CREATE)]
    # The warn spec stays in the plan (reported as drift) but was not applied.
    assert {c.address for c in report.plan.changes} == {"container/a", "container/w"}


def test_an_unreadable_proxmox_gives_unknown_lines_and_applies_nothing(lake: Settings) -> None:
    write(lake, "a", container("a", 201))
    applier = RecordingApplier()
    observer = FakeProxmox(error=ConnectionError("connection refused"))
    report = reconcile_once(lake, None, RunOptions(apply=True), None, deps_for(observer, applier))
    assert [(c.address, c.action) for c in report.plan.changes] == [("container/a", Action.UNKNOWN)]
    assert report.error == CycleError(
        Reason.OBSERVE_FAILED, "observe failed: proxmox: connection refused"
    )
    assert applier.applied == [] and report.failed
    assert apply_exit_code(report.plan, report.outcomes, bool(report.error)) == EXIT_ERROR


def test_invalid_specs_are_rejected_whole_before_observing(lake: Settings) -> None:
    write(lake, "a", container("a", 201))
    write(lake, "bad", container("bad", 201))  # the vmid of a: a cross-spec error
    observer, applier = FakeProxmox(), RecordingApplier()
    report = reconcile_once(lake, None, RunOptions(apply=True), "r2", deps_for(observer, applier))
    assert report.error is not None and report.error.reason is Reason.SPEC_INVALID
    assert report.error.message.startswith("invalid specs:") and "bad.yaml" in str(report.error)
    assert report.plan.changes == () and report.revision == "r2"
    assert observer.calls == 0 and applier.applied == []


def test_targets_limit_the_plan_and_a_typo_is_named(lake: Settings) -> None:
    write(lake, "a", container("a", 201))
    write(lake, "b", container("b", 202))
    applier = RecordingApplier()
    deps = deps_for(FakeProxmox(), applier)
    report = reconcile_once(lake, None, RunOptions(apply=True, targets=("b",)), None, deps)
    assert applier.applied == [("container/b", Action.CREATE)]
    typo = plan_once(lake, None, RunOptions(targets=("container/nope",)), deps)
    assert typo.planned is None and typo.reason is NotPlanned.UNMATCHED_TARGETS
    assert typo.error == "no spec matches container/nope"
    assert report.error is None


def test_a_stop_request_runs_nothing_more(lake: Settings) -> None:
    write(lake, "a", container("a", 201))
    write(lake, "b", container("b", 202, needs=["container/a"]))
    applier = RecordingApplier()
    deps = replace(deps_for(FakeProxmox(), applier), stop_requested=lambda: True)
    report = reconcile_once(lake, None, RunOptions(apply=True), None, deps)
    assert applier.applied == []
    assert {o.status for o in report.outcomes} <= {Status.SKIPPED}
    assert apply_exit_code(report.plan, report.outcomes, bool(report.error)) == EXIT_ERROR
