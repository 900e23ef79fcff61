"""The engine's edge as ports: what a cycle needs from outside, built by wiring (real providers)
or by a test (fakes of these protocols). The engine never builds them itself."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reconciler.apply.executor import Listener
from reconciler.apply.ports import Applier
from reconciler.diff.backoff import MaintenanceFailure
from reconciler.diff.compaction_tuning import RewriteRun
from reconciler.model.containers import ContainerSpec
from reconciler.model.desired import Desired
from reconciler.model.provisioning import ProvisionRecord
from reconciler.observe.backups import BackupObserver
from reconciler.observe.ports import ContainerObserver, HealthObserver, TableObserver
from reconciler.plan.change import Plan

__all__ = ["ContainerObserver", "Deps", "HealthObserver", "TableObserver"]


def _no_appliers(desired: Desired, plan: Plan) -> Sequence[Applier]:
    return ()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Deps:
    """The edge, as ports: an observer left None is a source this cycle does not read."""

    observe_containers: ContainerObserver | None = None
    observe_tables: TableObserver | None = None
    observe_health: HealthObserver | None = None
    # Provisioning (config `provision:`; None: off): the recorded state and a one-shot probe
    # of each given CT's readiness, address -> why it fails (passing CTs left out).
    provision_records: Callable[[], Mapping[str, ProvisionRecord]] | None = None
    probe_readiness: Callable[[Sequence[ContainerSpec]], Mapping[str, str]] | None = None
    observe_backups: BackupObserver | None = None  # lists policies' backup targets
    appliers: Callable[[Desired, Plan], Sequence[Applier]] = _no_appliers
    privileged_api: bool = False
    default_node: str = "pve"
    listener: Listener | None = None
    stop_requested: Callable[[], bool] = field(default=lambda: False)
    clock: Callable[[], datetime] = _now
    # Backoff state of failing maintenance (the store), read at plan and saved after apply.
    maintenance_failures: Callable[[], Mapping[str, MaintenanceFailure]] | None = None
    # Past rewrite_data_files runs by table (the store): compaction's estimated duration.
    rewrite_history: Callable[[], Mapping[str, Sequence[RewriteRun]]] | None = None
    save_maintenance_failures: (
        Callable[[Sequence[MaintenanceFailure], Sequence[str]], None] | None
    ) = None
