"""The Iceberg table-health observer (observe.ports.HealthObserver): one load per table with
a policy, in parallel (bounded); file sizes are read only where a trigger may be crossed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import structlog

from reconciler.model.health import TableHealth
from reconciler.model.policies import MaintenancePolicy
from reconciler.model.tables import TableSpec
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.health import load_health, read_health
from reconciler.providers.iceberg.reader import TableMemo

log = structlog.get_logger(__name__)


def _one(
    catalogs: Catalogs,
    spec: TableSpec,
    policy: MaintenancePolicy,
    memo: TableMemo | None,
    now: datetime,
) -> TableHealth | None:
    identifier = (*spec.namespace, spec.name)
    deletes, keep = policy.rewrite_position_deletes, policy.retention
    loaded = memo.get(spec.catalog, identifier) if memo is not None else None
    if loaded is not None:  # already loaded by this plan's observation
        return read_health(loaded, spec.address, policy.compaction, deletes, keep, now)
    return load_health(
        catalogs.get(spec.catalog), identifier, spec.address, policy.compaction, deletes, keep, now
    )


def observe_health(
    catalogs: Catalogs,
    tables: Sequence[TableSpec],
    policies: Mapping[str, MaintenancePolicy],
    *,
    now: datetime,
    max_workers: int = 8,
    memo: TableMemo | None = None,
) -> dict[str, TableHealth]:
    """Health of every table whose policy exists; tables without one are not maintained.
    `now` (the planning moment) is when a policy's retention age counts back from."""
    work = [(t, policies[t.policy]) for t in tables if t.policy and t.policy in policies]
    if not work:
        return {}
    with ThreadPoolExecutor(
        max_workers=max(1, min(max_workers, len(work))), thread_name_prefix="iceberg-health"
    ) as pool:
        results = list(pool.map(lambda item: _one(catalogs, item[0], item[1], memo, now), work))
    health = {t.address: h for (t, _), h in zip(work, results, strict=True) if h is not None}
    log.info("observe.health", tables=len(work), found=len(health))
    return health
