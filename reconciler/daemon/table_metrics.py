"""Per-table health gauges for `/metrics`: the figures a cycle's plan already observed
(data files, bytes, snapshots...) and the last maintenance result per procedure.

Nothing here reads a catalog: `CycleTables.wrap` records what the cycle's own observers
returned, `TableMetrics.finish` keeps it, and scrapes turn it into metric families.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric

from reconciler.deps import Deps
from reconciler.model.health import TableHealth
from reconciler.model.policies import MaintenancePolicy
from reconciler.model.tables import TableInventory, TableSpec
from reconciler.plan.change import BACKUP_ACTIONS, PROCEDURE_ACTIONS, RETENTION_ACTIONS
from reconciler.report.outcome import CycleReport, Status, per_call
from reconciler.store import CycleRecord

# Figures are per procedure: a maintain line counts as its calls (report.outcome.per_call).
PROCEDURES = frozenset(a.value for a in PROCEDURE_ACTIONS | BACKUP_ACTIONS | RETENTION_ACTIONS)
_RESULT = {Status.APPLIED.value: 1.0, Status.FAILED.value: 0.0, Status.STALE.value: 0.0}

# (metric name, help, figure of a TableHealth; None: not known, no sample)
_FIGURES: tuple[tuple[str, str, Callable[[TableHealth], float | None]], ...] = (
    ("reconciler_table_data_files", "Live data files of the current snapshot.",
     lambda h: h.data_files),
    ("reconciler_table_small_files",
     "Mergeable data files under the policy's smallFileSize (only when they were read).",
     lambda h: h.small_files),
    ("reconciler_table_total_bytes", "Bytes of the current snapshot's data files.",
     lambda h: h.total_bytes),
    ("reconciler_table_records", "Records in the current snapshot.", lambda h: h.records),
    ("reconciler_table_snapshots", "Snapshots in the table metadata.",
     lambda h: h.snapshot_count),
    ("reconciler_table_manifests", "Manifests of the current snapshot.", lambda h: h.manifests),
    ("reconciler_table_delete_files", "Delete files of the current snapshot.",
     lambda h: h.delete_files),
)  # fmt: skip


def table_label(address: str) -> str:
    """`table/lake.sales.orders` -> `lake.sales.orders` (the `table` label)."""
    return address.removeprefix("table/")


@dataclass
class CycleTables:
    """What one cycle's observers saw: the spec'd tables and their health (None: not called)."""

    specs: frozenset[str] | None = None
    health: dict[str, TableHealth] | None = None

    def wrap(self, deps: Deps) -> Deps:
        """`deps` whose table and health observers also report here (same calls, same results)."""
        tables, health = deps.observe_tables, deps.observe_health

        def observe_tables(specs: Sequence[TableSpec], /) -> TableInventory:
            assert tables is not None
            found = tables(specs)
            self.specs = frozenset(s.address for s in specs)
            return found

        def observe_health(
            specs: Sequence[TableSpec],
            policies: Mapping[str, MaintenancePolicy],
            now: datetime,
            /,
        ) -> Mapping[str, TableHealth]:
            assert health is not None
            found = health(specs, policies, now)
            self.health = dict(found)
            return found

        return replace(
            deps,
            observe_tables=observe_tables if tables is not None else None,
            observe_health=observe_health if health is not None else None,
        )


class TableMetrics:
    """The gauges' values, under a lock; `clock` (unix seconds) dates snapshot ages at scrape."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._guard = threading.Lock()
        self._health: dict[str, tuple[TableHealth, float]] = {}  # address -> (health, read at)
        self._results: dict[tuple[str, str], tuple[float, float]] = {}  # -> (1/0, at)

    def seed(self, cycles: Iterable[CycleRecord]) -> None:
        """Last maintenance results from the history (newest first), so a restart keeps them."""
        with self._guard:
            for cycle in cycles:
                at = datetime.fromisoformat(cycle.finished_at).timestamp()
                for action in cycle.actions:
                    key = (action.address, action.action)
                    if action.action in PROCEDURES and action.status in _RESULT:
                        self._results.setdefault(key, (_RESULT[action.status], at))

    def finish(self, seen: CycleTables, report: CycleReport, at: float) -> None:
        """Keep what a cycle observed and ran. Series of tables that left the specs go; a
        cycle that failed before observing (invalid specs, PVE down) changes no figure."""
        with self._guard:
            for outcome in (c for o in report.outcomes for c in per_call(o)):
                if outcome.action.value in PROCEDURES and outcome.status.value in _RESULT:
                    key = (outcome.address, outcome.action.value)
                    self._results[key] = (_RESULT[outcome.status.value], at)
            specs = seen.specs
            if specs is None:
                if report.error is not None:
                    return
                specs = frozenset()  # planned cleanly without reading a catalog: no tables
            if seen.health is not None:
                self._health = {a: (h, at) for a, h in seen.health.items() if a in specs}
            elif report.error is None:  # nothing to observe (no policy, nothing present)
                self._health = {}
            else:  # health unreadable this cycle: the last figures of tables still spec'd
                self._health = {a: v for a, v in self._health.items() if a in specs}
            self._results = {k: v for k, v in self._results.items() if k[0] in specs}

    def collect(self) -> Iterator[Metric]:
        """prometheus_client's collector protocol (registered by daemon.metrics.Metrics)."""
        now = self._clock()
        with self._guard:
            health = sorted(self._health.items())
            results = sorted(self._results.items())
        for name, text, figure in _FIGURES:
            family = GaugeMetricFamily(name, text, labels=["table"])
            for address, (h, _) in health:
                value = figure(h)
                if value is not None:
                    family.add_metric([table_label(address)], float(value))
            yield family
        age = GaugeMetricFamily(
            "reconciler_table_oldest_snapshot_age_seconds",
            "Age of the oldest snapshot in the metadata, at scrape time.",
            labels=["table"],
        )
        read = GaugeMetricFamily(
            "reconciler_table_health_timestamp_seconds",
            "When the cycle that read these figures finished (unix time).",
            labels=["table"],
        )
        for address, (h, at) in health:
            oldest = h.oldest_snapshot_ms
            if oldest is not None:
                age.add_metric([table_label(address)], max(0.0, now - oldest / 1000))
            read.add_metric([table_label(address)], at)
        yield age
        yield read
        success = GaugeMetricFamily(
            "reconciler_table_maintenance_last_success",
            "1 if the table's last run of this procedure succeeded, 0 if it failed.",
            labels=["table", "procedure"],
        )
        when = GaugeMetricFamily(
            "reconciler_table_maintenance_last_timestamp_seconds",
            "When the table's last run of this procedure finished (unix time).",
            labels=["table", "procedure"],
        )
        for (address, procedure), (ok, at) in results:
            success.add_metric([table_label(address), procedure], ok)
            when.add_metric([table_label(address), procedure], at)
        yield success
        yield when
