"""The lake report (`reconcile report`) as pure data: containers with their drift, tables
with health figures, file-size histograms, snapshot ages, due and deferred work and the last
maintenance outcomes; built from values the edge gathered, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from reconciler.model.desired import Desired
from reconciler.model.file_sizes import SizeBucket
from reconciler.model.health import TableHealth
from reconciler.plan.change import (
    BACKUP_ACTIONS,
    MAINTENANCE_ACTIONS,
    PROCEDURE_ACTIONS,
    RETENTION_ACTIONS,
    JSONValue,
)
from reconciler.report.drift import DriftEntry, DriftReport, drift_to_dict

FORMAT_VERSION = 1
PROCEDURES = frozenset(
    a.value for a in PROCEDURE_ACTIONS | MAINTENANCE_ACTIONS | BACKUP_ACTIONS | RETENTION_ACTIONS
)
SNAPSHOTS_SHOWN = 10  # newest snapshots listed per table; the count says how many exist


@dataclass(frozen=True)
class MaintenanceRun:
    """One recorded run of a procedure on a table (the store's history)."""

    address: str
    procedure: str
    status: str  # applied | failed | skipped | stale
    message: str
    finished_at: str  # of the cycle that ran it (ISO 8601)
    seconds: float


@dataclass(frozen=True)
class SnapshotAge:
    snapshot_id: int
    timestamp_ms: int
    age_seconds: int
    current: bool


@dataclass(frozen=True)
class ContainerRow:
    address: str
    vmid: int
    node: str | None
    drift_mode: str
    lines: tuple[DriftEntry, ...]  # plan lines of this container (empty: in sync)


@dataclass(frozen=True)
class TableRow:
    address: str
    policy: str | None
    exists: bool
    health: TableHealth | None
    histogram: tuple[SizeBucket, ...]
    snapshots: tuple[SnapshotAge, ...]  # newest first, at most SNAPSHOTS_SHOWN
    oldest_snapshot_age: int | None  # seconds, of the oldest snapshot in the metadata
    due: tuple[DriftEntry, ...]  # maintenance lines that run at the next apply
    deferred: tuple[DriftEntry, ...]  # due, but outside the window or backing off
    drift: tuple[DriftEntry, ...]  # spec differences (schema, properties, create...)
    notes: tuple[str, ...]  # why nothing is due (healthy, not owned...)
    last_runs: tuple[MaintenanceRun, ...]  # the newest run of each procedure

    @property
    def name(self) -> str:
        return self.address.removeprefix("table/")


@dataclass(frozen=True)
class LakeReport:
    generated_at: str
    revision: str | None
    containers: tuple[ContainerRow, ...]
    tables: tuple[TableRow, ...]
    other: tuple[DriftEntry, ...]  # lines of addresses no spec names (orphans, conflicts)
    errors: tuple[str, ...]  # sources that could not be read
    history: tuple[MaintenanceRun, ...]  # recent maintenance runs, newest first
    drift: DriftReport


def last_runs(runs: Iterable[MaintenanceRun]) -> dict[tuple[str, str], MaintenanceRun]:
    """The newest run per (address, procedure) of `runs` (newest first); skips are no run."""
    newest: dict[tuple[str, str], MaintenanceRun] = {}
    for run in runs:
        if run.status != "skipped":
            newest.setdefault((run.address, run.procedure), run)
    return newest


def _ages(health: TableHealth | None, now_ms: int) -> tuple[SnapshotAge, ...]:
    if health is None:
        return ()
    newest = sorted(health.snapshots, key=lambda s: s.timestamp_ms, reverse=True)
    return tuple(
        SnapshotAge(
            s.snapshot_id,
            s.timestamp_ms,
            max(0, (now_ms - s.timestamp_ms) // 1000),
            s.snapshot_id == health.current_snapshot_id,
        )
        for s in newest[:SNAPSHOTS_SHOWN]
    )


def _oldest(health: TableHealth | None, now_ms: int) -> int | None:
    oldest = health.oldest_snapshot_ms if health is not None else None
    return None if oldest is None else max(0, (now_ms - oldest) // 1000)


def build_lake_report(
    desired: Desired,
    drift: DriftReport,
    health: Mapping[str, TableHealth],
    histograms: Mapping[str, tuple[SizeBucket, ...]],
    notes: Sequence[tuple[str, str]],
    runs: Sequence[MaintenanceRun],
    errors: Sequence[str],
    now_ms: int,
) -> LakeReport:
    """`histograms` has an entry for every spec'd table that exists; `runs` newest first."""
    by_address: dict[str, list[DriftEntry]] = {}
    for entry in drift.entries:
        by_address.setdefault(entry.address, []).append(entry)
    containers = tuple(
        ContainerRow(
            c.address, c.vmid, c.node, str(c.drift.value), tuple(by_address.get(c.address, ()))
        )
        for c in sorted(desired.containers, key=lambda c: c.address)
    )
    newest = last_runs(runs)
    tables = []
    for t in sorted(desired.tables, key=lambda t: t.address):
        lines = by_address.get(t.address, [])
        seen = health.get(t.address)
        tables.append(
            TableRow(
                address=t.address,
                policy=t.policy,
                exists=t.address in histograms,
                health=seen,
                histogram=histograms.get(t.address, ()),
                snapshots=_ages(seen, now_ms),
                oldest_snapshot_age=_oldest(seen, now_ms),
                due=tuple(e for e in lines if e.health and e.action != "deferred"),
                deferred=tuple(e for e in lines if e.health and e.action == "deferred"),
                drift=tuple(e for e in lines if not e.health),
                notes=tuple(why for address, why in notes if address == t.address),
                last_runs=tuple(
                    run for (address, _), run in sorted(newest.items()) if address == t.address
                ),
            )
        )
    named = {c.address for c in desired.containers} | {t.address for t in desired.tables}
    return LakeReport(
        generated_at=drift.generated_at,
        revision=drift.revision,
        containers=containers,
        tables=tuple(tables),
        other=tuple(e for e in drift.entries if e.address not in named),
        errors=tuple(errors),
        history=tuple(runs),
        drift=drift,
    )


def _run(run: MaintenanceRun) -> dict[str, JSONValue]:
    return {
        "address": run.address,
        "procedure": run.procedure,
        "status": run.status,
        "message": run.message,
        "finished_at": run.finished_at,
        "seconds": run.seconds,
    }


def _line(entry: DriftEntry) -> dict[str, JSONValue]:
    return {"action": entry.action, "reason": entry.reason, "since": entry.since}


def _health(h: TableHealth | None) -> dict[str, JSONValue] | None:
    if h is None:
        return None
    return {
        "data_files": h.data_files,
        "small_files": h.small_files,
        "small_file_size": h.small_file_size,
        "total_bytes": h.total_bytes,
        "records": h.records,
        "snapshots": h.snapshot_count,
        "oldest_snapshot_ms": h.oldest_snapshot_ms,
        "manifests": h.manifests,
        "delete_files": h.delete_files,
    }


def lake_to_dict(report: LakeReport) -> dict[str, JSONValue]:
    """`reconcile report --output json`: the same data as the HTML page."""
    return {
        "format_version": FORMAT_VERSION,
        "generated_at": report.generated_at,
        "revision": report.revision,
        "errors": list(report.errors),
        "containers": [
            {
                "address": c.address,
                "vmid": c.vmid,
                "node": c.node,
                "drift_mode": c.drift_mode,
                "in_sync": not c.lines,
            }
            for c in report.containers
        ],
        "tables": [
            {
                "address": t.address,
                "policy": t.policy,
                "exists": t.exists,
                "health": _health(t.health),
                "file_sizes": [
                    {"low": b.low, "high": b.high, "files": b.files, "bytes": b.bytes}
                    for b in t.histogram
                ],
                "oldest_snapshot_age_seconds": t.oldest_snapshot_age,
                "snapshots": [
                    {
                        "snapshot_id": s.snapshot_id,
                        "timestamp_ms": s.timestamp_ms,
                        "age_seconds": s.age_seconds,
                        "current": s.current,
                    }
                    for s in t.snapshots
                ],
                "due": [_line(e) for e in t.due],
                "deferred": [_line(e) for e in t.deferred],
                "notes": list(t.notes),
                "last_runs": [_run(r) for r in t.last_runs],
            }
            for t in report.tables
        ],
        "history": [_run(r) for r in report.history],
        "drift": drift_to_dict(report.drift)["drift"],
    }
