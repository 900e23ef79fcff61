"""Composition root: Settings -> real providers behind deps.Deps (the only place that
builds SDK clients). Clients are built lazily, so a plan that needs no catalog never opens one."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reconciler.apply.ports import Applier
from reconciler.deps import Deps
from reconciler.model.desired import Desired
from reconciler.model.policies import MaintenancePolicy
from reconciler.model.tables import TableInventory, TableSpec
from reconciler.plan.change import BACKUP_ACTIONS, MAINTENANCE_ACTIONS, RETENTION_ACTIONS, Plan
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


class MissingExtra(RuntimeError):
    """A configured feature needs an optional extra that is not installed."""


def extra_installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def missing_extra(extra: str, feature: str) -> str:
    return (
        f"{feature} need the {extra!r} extra, which is not installed: "
        f"pip install 'datalake-reconciler[{extra}]'"
    )


def require_extra(module: str, extra: str, feature: str) -> None:
    """Raise MissingExtra naming the pip command when `module` cannot be imported."""
    if not extra_installed(module):
        raise MissingExtra(missing_extra(extra, feature))


def _table_memo() -> Any:
    """Health reuses the tables the same plan's observation loaded."""
    require_extra("pyiceberg", "iceberg", "Iceberg catalogs")
    from reconciler.providers.iceberg.reader import TableMemo

    return TableMemo()


def new_metadata_cache() -> Any:
    """A cache of parsed table metadata for a caller that outlives one plan (the daemon)."""
    from reconciler.providers.iceberg.metadata_cache import MetadataCache

    return MetadataCache()


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def build_deps(
    settings: Settings,
    catalogs_override: Catalogs | None = None,
    metadata_cache: Any = None,
    *,
    clock: Callable[[], datetime] = _wall_clock,
) -> Deps:
    """`catalogs_override` lets benchmarks and tests observe catalog calls; `metadata_cache`
    (from `new_metadata_cache`) carries parsed metadata from one plan to the next; `clock`
    is both the planning moment and the retention applier's (one cutoff for preview and
    delete)."""

    def build_proxmox() -> Any:
        # proxmoxer and requests load only when a plan reads or writes containers
        from reconciler.providers.proxmox.client import build_client

        return build_client(settings.proxmox, task_timeout=settings.apply.task_timeout)

    client = _lazy(build_proxmox)

    def build_catalogs() -> Any:
        if catalogs_override is not None:
            return catalogs_override
        require_extra("pyiceberg", "iceberg", "Iceberg catalogs")
        from reconciler.providers.iceberg.catalog import Catalogs

        return Catalogs(
            {name: dict(props) for name, props in settings.catalogs},
            state_dir=settings.state_dir,
            metadata_cache=metadata_cache,
        )

    catalogs = _lazy(build_catalogs)
    # The Iceberg modules (and pyiceberg) load only when a catalog is first used: the base
    # install plans containers alone.
    memo = _lazy(_table_memo)

    def containers(specs: Sequence[Any]) -> Any:
        from reconciler.providers.proxmox.observe import observe_containers

        return observe_containers(client(), specs, settings.proxmox.parallel_reads)

    def tables(specs: Sequence[Any]) -> Any:
        if catalogs_override is None and not extra_installed("pyiceberg"):
            # Every catalog is unreadable, like one that is down: a plan without Table specs
            # in it goes on (the embedded default catalog of a base install), one with fails.
            missing = missing_extra("iceberg", "Iceberg catalogs")
            return TableInventory(errors=tuple((name, missing) for name, _ in settings.catalogs))
        from reconciler.providers.iceberg.observe_tables import observe_tables

        memo().clear()
        return observe_tables(catalogs(), tuple(specs), memo=memo())

    def health(
        specs: Sequence[TableSpec], policies: Mapping[str, MaintenancePolicy], now: datetime
    ) -> Any:
        from reconciler.providers.iceberg.observe_health import observe_health

        try:
            return observe_health(catalogs(), specs, policies, now=now, memo=memo())
        finally:
            memo().clear()  # never serve a later plan stale metadata

    def appliers(desired: Desired, plan: Plan) -> Sequence[Applier]:
        built: list[Applier] = []
        executable = plan.executable()
        if any(c.address.startswith("container/") for c in executable):
            from reconciler.providers.proxmox.writer import ProxmoxApplier

            built.append(ProxmoxApplier(client(), settings.apply))  # operations only
        if any(
            c.address.startswith("table/")
            and c.action not in MAINTENANCE_ACTIONS | BACKUP_ACTIONS | RETENTION_ACTIONS
            for c in executable
        ):
            from reconciler.providers.iceberg.writer import IcebergApplier

            built.append(IcebergApplier(catalogs()))  # the plan's operations only
        if any(c.action in MAINTENANCE_ACTIONS for c in executable):
            from reconciler.providers.iceberg.reader import table_owned
            from reconciler.providers.spark.applier import SparkMaintenanceApplier

            # The applier runs the lines' procedure calls alone; ownership is re-read fresh.
            named = {t.address: t for t in desired.tables}
            spark = SparkMaintenanceApplier(
                settings,
                still_owned=lambda a: a in named and table_owned(catalogs(), named[a]),
            )
            spark.prepare(executable)
            built.append(spark)
        if any(c.action in BACKUP_ACTIONS for c in executable):
            from reconciler.providers.iceberg.backup import BackupApplier

            built.append(BackupApplier(catalogs()))  # the lines' export_backup operations
        if any(c.action in RETENTION_ACTIONS for c in executable):
            from reconciler.providers.iceberg.reader import table_owned
            from reconciler.providers.iceberg.retention import RetentionApplier

            owned = {t.address: t for t in desired.tables}
            built.append(
                RetentionApplier(
                    catalogs(),
                    still_owned=lambda a: a in owned and table_owned(catalogs(), owned[a]),
                    clock=clock,
                )
            )
        return built

    def backups(specs: Sequence[TableSpec], policies: Mapping[str, MaintenancePolicy]) -> Any:
        from reconciler.providers.iceberg.backup import list_backups

        return list_backups(catalogs(), specs, policies)

    def with_ssh(
        inner: Callable[[Desired, Plan], Sequence[Applier]],
    ) -> Callable[[Desired, Plan], Sequence[Applier]]:
        """Adds the SSH applier when the plan has provision or await lines."""

        def appliers_and_ssh(desired: Desired, plan: Plan) -> Sequence[Applier]:
            from reconciler.plan.change import Action

            built = list(inner(desired, plan))
            lines = (Action.PROVISION, Action.AWAIT)
            if settings.provision is not None and any(c.action in lines for c in plan.executable()):
                from reconciler.providers.ssh.applier import SshApplier

                cfg, specs = settings.provision, desired.containers
                built.append(SshApplier(cfg, specs, settings.state_dir))
            return built

        return appliers_and_ssh

    def provision_records() -> Any:
        from reconciler.providers.ssh.records import read_records

        return read_records(settings.state_dir)

    def probe_readiness(specs: Sequence[Any]) -> Any:
        from reconciler.providers.ssh.probes import probe_all

        assert settings.provision is not None
        return probe_all(specs, settings.provision)

    def store() -> Any:
        from reconciler.store import Store

        return Store(settings.state_dir)

    return Deps(
        maintenance_failures=lambda: store().maintenance_failures(),
        rewrite_history=lambda: store().rewrite_history(),
        save_maintenance_failures=lambda failed, ok: store().save_maintenance_failures(failed, ok),
        observe_containers=containers,
        observe_tables=tables if settings.catalogs else None,
        observe_health=health if settings.catalogs else None,
        observe_backups=backups if settings.catalogs else None,
        appliers=with_ssh(appliers),
        privileged_api=settings.proxmox.backend == "local",
        default_node=settings.proxmox.node,
        provision_records=provision_records if settings.provision else None,
        probe_readiness=probe_readiness if settings.provision else None,
        clock=clock,
    )


def build_catalogs(settings: Settings) -> Catalogs:
    """The configured Iceberg catalogs for a read-only report outside a cycle (`report`)."""
    require_extra("pyiceberg", "iceberg", "Iceberg catalogs")
    from reconciler.providers.iceberg.catalog import Catalogs

    return Catalogs(
        {name: dict(props) for name, props in settings.catalogs}, state_dir=settings.state_dir
    )
