"""Maintenance backoff: a table whose maintenance keeps failing waits, exponentially longer
each time (capped), before its next job; pure, the clock and the records come in as data."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from reconciler.model.policies import MaintenancePolicy
from reconciler.model.tables import TableSpec
from reconciler.plan.change import (
    BACKUP_ACTIONS,
    MAINTENANCE_ACTIONS,
    PROCEDURE_ACTIONS,
    RETENTION_ACTIONS,
    Action,
    Change,
    JSONValue,
)
from reconciler.plan.maintenance_ops import expand_all

# A failing backup backs its table off like failing maintenance (one record per table).
# Outcomes are read per call (a maintain line's calls each keep their record).
_BACKS_OFF = MAINTENANCE_ACTIONS | PROCEDURE_ACTIONS | BACKUP_ACTIONS | RETENTION_ACTIONS

BASE_DELAY = timedelta(minutes=5)  # after the first failure
MAX_DELAY = timedelta(hours=6)  # the delay doubles per failure up to this cap
MAX_ERROR = 300  # characters of the last error kept in a reason


@dataclass(frozen=True)
class MaintenanceFailure:
    """What the state dir remembers of a table whose last maintenance failed."""

    address: str
    failures: int  # consecutive failed attempts
    last_error: str
    last_attempt: datetime
    fingerprint: str  # of the table spec and policy then: a change of either forgets this

    @property
    def next_try(self) -> datetime:
        return self.last_attempt + backoff_delay(self.failures)


def backoff_delay(failures: int) -> timedelta:
    """5 min, 10, 20, 40 ... doubling per consecutive failure, never above 6 h."""
    if failures <= 0:
        return timedelta(0)
    doublings = min(failures - 1, 32)  # 2**32 * 5 min is far past the cap already
    return min(BASE_DELAY * (1 << doublings), MAX_DELAY)


def fingerprint(table: TableSpec, policy: MaintenancePolicy | None) -> str:
    """Stable digest of what decides a table's maintenance (not where the spec lives)."""
    text = repr((replace(table, source=None), policy))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprints(
    tables: Iterable[TableSpec], policies: Mapping[str, MaintenancePolicy]
) -> dict[str, str]:
    return {t.address: fingerprint(t, policies.get(t.policy or "")) for t in tables}


def active(
    failure: MaintenanceFailure | None, current: str, now: datetime
) -> MaintenanceFailure | None:
    """The record if it still holds the table back: same spec and policy, before next_try."""
    if failure is None or failure.fingerprint != current or now >= failure.next_try:
        return None
    return failure


def short_error(error: str) -> str:
    line = " ".join(error.split())
    return line if len(line) <= MAX_ERROR else line[: MAX_ERROR - 1] + "…"


def backoff_reason(failure: MaintenanceFailure) -> str:
    count = failure.failures
    return (
        f"backing off after {count} failure{'s' if count != 1 else ''}, next try at "
        f"{failure.next_try.isoformat(timespec='seconds')} "
        f"(last error: {short_error(failure.last_error)})"
    )


def backoff_line(address: str, due: Iterable[Change], failure: MaintenanceFailure) -> Change:
    """The `deferred` line that replaces a table's due maintenance while it backs off."""
    lines = list(expand_all(list(due)))  # named per procedure, as before the maintain line
    actions: list[JSONValue] = [c.action.value for c in lines]
    reason = f"{', '.join(c.action.value for c in lines)} due; " + backoff_reason(failure)
    options: dict[str, JSONValue] = {
        "actions": actions,
        "backoff": {
            "failures": failure.failures,
            "last_error": short_error(failure.last_error),
            "last_attempt": failure.last_attempt.isoformat(timespec="seconds"),
            "next_try": failure.next_try.isoformat(timespec="seconds"),
        },
    }
    return Change(address, Action.DEFERRED, reason, options=tuple(options.items()))


@dataclass(frozen=True)
class MaintenanceResult:
    """One table's maintenance in one apply: `error` None means every line applied."""

    address: str
    error: str | None


def results(outcomes: Iterable[tuple[str, Action, str, str]]) -> tuple[MaintenanceResult, ...]:
    """From (address, action, status, message) of an apply: a failed line fails its table;
    a table whose lines all applied succeeded; skipped or stale lines decide nothing."""
    failed: dict[str, str] = {}
    applied: set[str] = set()
    for address, action, status, message in outcomes:
        if action not in _BACKS_OFF:
            continue
        if status == "failed":
            named = message if message.startswith(action.value) else f"{action.value}: {message}"
            failed.setdefault(address, named)
        elif status == "applied":
            applied.add(address)
    done = [MaintenanceResult(a, e) for a, e in failed.items()]
    done += [MaintenanceResult(a, None) for a in applied - failed.keys()]
    return tuple(sorted(done, key=lambda r: r.address))


def after(
    previous: MaintenanceFailure | None,
    result: MaintenanceResult,
    now: datetime,
    current: str,
) -> MaintenanceFailure | None:
    """The record after `result`: None on success; one more failure (or the first, when the
    spec or policy changed since) on failure."""
    if result.error is None:
        return None
    count = 1
    if previous is not None and previous.fingerprint == current:
        count = previous.failures + 1
    return MaintenanceFailure(result.address, count, result.error, now, current)


def apply_backoff(
    changes: Iterable[Change],
    failures: Mapping[str, MaintenanceFailure],
    current: Mapping[str, str],
    now: datetime,
) -> tuple[Change, ...]:
    """Replace the due maintenance of each table that backs off by one `deferred` line;
    a line already deferred to its window keeps its place and names the backoff too."""
    items = list(changes)
    holding = {
        address: failure
        for address, failure in failures.items()
        if active(failure, current.get(address, ""), now) is not None
    }
    out: list[Change] = []
    due: dict[str, list[Change]] = {}
    for change in items:
        failure = holding.get(change.address)
        if failure is None:
            out.append(change)
        elif change.action in _BACKS_OFF:
            due.setdefault(change.address, []).append(change)
        elif change.action is Action.DEFERRED:
            out.append(replace(change, reason=f"{change.reason}; {backoff_reason(failure)}"))
        else:
            out.append(change)
    out += [backoff_line(address, lines, holding[address]) for address, lines in due.items()]
    return tuple(out)


def failure_to_dict(failure: MaintenanceFailure) -> dict[str, JSONValue]:
    """A backoff record as `reconcile status` shows it."""
    return {
        "address": failure.address,
        "failures": failure.failures,
        "last_error": short_error(failure.last_error),
        "last_attempt": failure.last_attempt.isoformat(timespec="seconds"),
        "next_try": failure.next_try.isoformat(timespec="seconds"),
    }
