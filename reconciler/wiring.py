"""Composition root: Settings -> real providers behind engine.Deps (the only place that
builds SDK clients). Clients are built lazily, so a plan that needs no catalog never opens one."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.apply.ports import Applier
from reconciler.engine import Deps
from reconciler.model.desired import Desired
from reconciler.model.policies import MaintenancePolicy
from reconciler.model.tables import TableSpec
from reconciler.plan.change import MAINTENANCE_ACTIONS, Plan
from reconciler.settings import Settings

if TYPE_CHECKING:
    from reconciler.providers.iceberg.catalog import Catalogs


def _lazy(build: Callable[[], Any]) -> Callable[[], Any]:
    lock = threading.Lock()
    box: list[Any] = []

    def get() -> Any:
        with lock:
            if not box:
                box.append(build())
            return box[0]

    return get


def build_deps(settings: Settings, catalogs_override: Catalogs | None = None) -> Deps:
    """`catalogs_override` lets benchmarks and tests observe catalog calls."""
    from reconciler.observe.containers import observe_containers
    from reconciler.observe.health import observe_health
    from reconciler.observe.tables import observe_tables
    from reconciler.providers.iceberg.catalog import Catalogs
    from reconciler.providers.iceberg.reader import TableMemo
    from reconciler.providers.proxmox.client import build_client

    client = _lazy(lambda: build_client(settings.proxmox, task_timeout=settings.apply.task_timeout))
    catalogs = _lazy(
        lambda: (
            catalogs_override
            or Catalogs(
                {name: dict(props) for name, props in settings.catalogs},
                state_dir=settings.state_dir,
            )
        )
    )

    def containers(specs: Sequence[Any]) -> Any:
        return observe_containers(client(), specs, settings.proxmox.parallel_reads)

    memo = TableMemo()  # health reuses the tables the same plan's observation loaded

    def tables(specs: Sequence[Any]) -> Any:
        memo.clear()
        return observe_tables(catalogs(), tuple(specs), memo=memo)

    def health(specs: Sequence[TableSpec], policies: Mapping[str, MaintenancePolicy]) -> Any:
        try:
            return observe_health(catalogs(), specs, policies, memo=memo)
        finally:
            memo.clear()  # never serve a later plan stale metadata

    def appliers(desired: Desired, plan: Plan) -> Sequence[Applier]:
        from reconciler.providers.iceberg.writer import IcebergApplier
        from reconciler.providers.proxmox.writer import ProxmoxApplier

        built: list[Applier] = []
        executable = plan.executable()
        if any(c.address.startswith("container/") for c in executable):
            specs = {spec.address: spec for spec in desired.containers}
            built.append(ProxmoxApplier(client(), specs, settings.apply))
        if any(
            c.address.startswith("table/") and c.action not in MAINTENANCE_ACTIONS
            for c in executable
        ):
            built.append(IcebergApplier(catalogs(), tuple(desired.tables)))
        if any(c.action in MAINTENANCE_ACTIONS for c in executable):
            from reconciler.providers.iceberg.reader import table_owned
            from reconciler.providers.spark.applier import SparkMaintenanceApplier

            policies = {p.name: p for p in desired.policies}
            spark = SparkMaintenanceApplier(
                settings,
                tuple(desired.tables),
                policies,
                still_owned=lambda spec: table_owned(catalogs(), spec),
            )
            spark.prepare(executable)
            built.append(spark)
        return built

    return Deps(
        observe_containers=containers,
        observe_tables=tables if settings.catalogs else None,
        observe_health=health if settings.catalogs else None,
        appliers=appliers,
        privileged_api=settings.proxmox.backend == "local",
        default_node=settings.proxmox.node,
    )
