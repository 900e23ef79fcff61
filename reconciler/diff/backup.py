"""Backup lines from the observed backups and the policies' `backup:`; pure, never calls an API.

A backup is due `every` after the newest complete one (or when there is none), unless that
one already holds the table's current snapshot; outside its window it is planned deferred.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from reconciler.diff.maintenance_time import window_is_open
from reconciler.model.backups import BackupListing
from reconciler.model.health import TableHealth
from reconciler.model.policies import MaintenancePolicy
from reconciler.model.tables import TableSpec
from reconciler.plan.backup_ops import ExportBackup
from reconciler.plan.change import Action, Change, JSONValue


def span(seconds: float) -> str:
    """`26 h`, `45 min`, `3 d` for reasons: whole units, rounded down."""
    seconds = max(0, int(seconds))
    if seconds >= 3 * 86400:
        return f"{seconds // 86400} d"
    if seconds >= 3600:
        return f"{seconds // 3600} h"
    if seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def assess_backup(
    table: TableSpec,
    policy: MaintenancePolicy,
    listing: BackupListing | None,
    health: TableHealth | None,
    now: datetime,
    *,
    ignore_window: bool = False,
) -> Change | str | None:
    """The backup line of one table, the reason none is due, or None (no `backup:`)."""
    rule = policy.backup
    if rule is None:
        return None
    every = span(rule.every)
    if health is None or health.current_snapshot_id is None:
        return "table has no snapshot yet: nothing to back up"
    if listing is not None and listing.error is not None:
        return Change(
            table.address,
            Action.UNKNOWN,
            f"backups on {rule.target} could not be listed: {listing.error}",
        )
    latest = listing.latest if listing is not None else None
    current = health.current_snapshot_id
    if latest is None:
        reason = f"no backup yet; policy wants one every {every}"
    else:
        age = (now - latest.created).total_seconds()
        said = f"last backup {span(age)} ago"
        if latest.snapshot_id == current:
            return f"{said} holds the current snapshot {current}: no backup needed"
        if age < rule.every:
            return f"{said}; policy wants every {every}: no backup needed"
        reason = f"{said}; policy wants every {every}"
    # The applier exports the snapshot current when it runs (a newer one is as good).
    options: dict[str, JSONValue] = {"target": rule.target, "keep_last": rule.keep_last}
    window = rule.window or policy.window
    if window is not None and not ignore_window:
        is_open, next_start = window_is_open(window, now)
        if not is_open:
            deferred: dict[str, JSONValue] = {
                "actions": [Action.BACKUP.value],
                "next_window": next_start.isoformat(),
            }
            return Change(
                table.address,
                Action.DEFERRED,
                f"backup due ({reason}); outside the window '{window.schedule}' "
                f"{window.timezone}, next window starts {next_start.isoformat(timespec='minutes')}",
                options=tuple(deferred.items()),
            )
    return Change(
        table.address,
        Action.BACKUP,
        f"{reason}; to {rule.target}, keeping the last {rule.keep_last}",
        options=tuple(options.items()),
        operations=(
            ExportBackup(
                catalog=table.catalog,
                namespace=table.namespace,
                name=table.name,
                target=rule.target,
                keep_last=rule.keep_last,
                endpoint=rule.endpoint,
                region=rule.region,
                access_key_id_env=rule.credentials.access_key_id_env,
                secret_access_key_env=rule.credentials.secret_access_key_env,
                session_token_env=rule.credentials.session_token_env,
            ),
        ),
    )


def wants_backup(tables: Sequence[TableSpec], policies: Mapping[str, MaintenancePolicy]) -> bool:
    """True when some table's policy has `backup:` (only then is a target listed)."""
    return any(
        t.policy is not None and (p := policies.get(t.policy)) is not None and p.backup is not None
        for t in tables
    )


def plan_backups(
    tables: Sequence[TableSpec],
    policies: Mapping[str, MaintenancePolicy],
    health: Mapping[str, TableHealth],
    listings: Mapping[str, BackupListing],
    now: datetime,
    *,
    ignore_window: bool = False,
) -> tuple[tuple[Change, ...], tuple[tuple[str, str], ...]]:
    """Backup lines (due, deferred or unknown) and (address, reason) of tables with none due."""
    changes: list[Change] = []
    notes: list[tuple[str, str]] = []
    for table in sorted(tables, key=lambda t: t.address):
        policy = policies.get(table.policy) if table.policy is not None else None
        if policy is None:
            continue
        verdict = assess_backup(
            table,
            policy,
            listings.get(table.address),
            health.get(table.address),
            now,
            ignore_window=ignore_window,
        )
        if isinstance(verdict, Change):
            changes.append(verdict)
        elif verdict is not None:
            notes.append((table.address, verdict))
    return tuple(changes), tuple(notes)
