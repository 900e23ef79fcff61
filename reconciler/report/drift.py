"""The drift report as pure data: plan changes with their age and introducing commit; no I/O.

Maintenance lines (table health against its policy) are entries of kind `health`:
no fields, an action such as rewrite_data_files or deferred, and the reason (a maintain
line is an entry per call: each procedure is due, and ages, on its own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from reconciler.plan.change import (
    BACKUP_ACTIONS,
    MAINTENANCE_ACTIONS,
    PROCEDURE_ACTIONS,
    RETENTION_ACTIONS,
    Action,
    Change,
    JSONValue,
    Plan,
)
from reconciler.plan.maintenance_ops import expand_all

WHOLE = ""  # the drift key of a change without field lines (create, start, delete...)
HEALTH = "health"

History = Sequence[tuple[str, frozenset[tuple[str, str]] | set[tuple[str, str]]]]


@dataclass(frozen=True)
class DriftField:
    path: str
    before: JSONValue
    after: JSONValue
    since: str


@dataclass(frozen=True)
class DriftEntry:
    address: str
    action: str
    reason: str
    fields: tuple[DriftField, ...]
    since: str  # oldest `since` of its fields: drifting continuously since then
    commit: str | None  # last commit that touched the spec's file (git sources)
    health: bool = False  # a maintenance line: the table's health, not a spec difference

    @property
    def kind(self) -> str:
        return HEALTH if self.health else kind_of(self.address)


@dataclass(frozen=True)
class DriftReport:
    entries: tuple[DriftEntry, ...]
    revision: str | None
    generated_at: str

    @property
    def drift(self) -> tuple[DriftEntry, ...]:
        return tuple(e for e in self.entries if not e.health)

    @property
    def health(self) -> tuple[DriftEntry, ...]:
        return tuple(e for e in self.entries if e.health)


def kind_of(address: str) -> str:
    return address.split("/", 1)[0] if "/" in address else "other"


def is_health(change: Change) -> bool:
    """A maintenance line: due now, or deferred to the table's window (a CT's lock is drift)."""
    if (
        change.action
        in MAINTENANCE_ACTIONS | PROCEDURE_ACTIONS | BACKUP_ACTIONS | RETENTION_ACTIONS
    ):
        return True
    return change.action is Action.DEFERRED and kind_of(change.address) == "table"


def drift_keys(plan: Plan) -> tuple[tuple[str, str, str], ...]:
    """(address, field path, action) of every change: what the store keeps per cycle (a
    maintain line as its calls: each procedure is due, and ages, on its own)."""
    keys: list[tuple[str, str, str]] = []
    for change in expand_all(plan.changes):
        paths = [f.path for f in change.fields] or [WHOLE]
        keys += [(change.address, path, change.action.value) for path in paths]
    return tuple(keys)


def drift_since(address: str, path: str, history: History, now: str) -> str:
    """Start of the newest unbroken run of cycles (newest first) that saw this drift."""
    since = now
    for started_at, pairs in history:
        if (address, path) not in pairs:
            break
        since = started_at
    return since


def _entry(change: Change, history: History, now: str, commit: str | None) -> DriftEntry:
    fields = tuple(
        DriftField(f.path, f.before, f.after, drift_since(change.address, f.path, history, now))
        for f in change.fields
    )
    whole = drift_since(change.address, WHOLE, history, now)
    since = min([f.since for f in fields] or [whole])
    return DriftEntry(
        change.address, change.action.value, change.reason, fields, since, commit, is_health(change)
    )


def make_drift_report(
    plan: Plan,
    history: History,
    commits: Mapping[str, str | None],
    revision: str | None,
    now: str,
) -> DriftReport:
    """One entry per plan change (per call of a maintain line), sorted by address then
    action (deterministic)."""
    lines = expand_all(plan.changes)
    entries = (_entry(c, history, now, commits.get(c.address)) for c in lines)
    return DriftReport(tuple(sorted(entries, key=lambda e: (e.address, e.action))), revision, now)


def counts_by_kind(entries: Iterable[DriftEntry]) -> dict[str, int]:
    """Drifted resources (distinct addresses) per kind, for metrics and summaries."""
    kinds: dict[str, set[str]] = {}
    for entry in entries:
        kinds.setdefault(entry.kind, set()).add(entry.address)
    return {kind: len(addresses) for kind, addresses in sorted(kinds.items())}


def _field_dict(f: DriftField) -> dict[str, JSONValue]:
    return {"path": f.path, "before": f.before, "after": f.after, "since": f.since}


def drift_to_dict(report: DriftReport) -> dict[str, JSONValue]:
    """The JSON contract: {"drift": [{address, fields, since, action, reason, commit, kind}]}."""
    return {
        "revision": report.revision,
        "generated_at": report.generated_at,
        "drift": [
            {
                "address": e.address,
                "fields": [_field_dict(f) for f in e.fields],
                "since": e.since,
                "action": e.action,
                "reason": e.reason,
                "commit": e.commit,
                "kind": e.kind,
            }
            for e in report.entries
        ],
    }
