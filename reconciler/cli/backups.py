"""`reconcile backups TABLE` lists a table's backups; `reconcile restore TABLE --from ID`
restores one, into a new table by default or in place (confirmed) as a new snapshot."""

from __future__ import annotations

import argparse
import json
from typing import Any

from reconciler.cli.common import ask_yes, error
from reconciler.cli.exit_codes import EXIT_ERROR, EXIT_OK
from reconciler.model.policies import Backup
from reconciler.model.tables import TableSpec
from reconciler.settings import Settings


def _find(settings: Settings, name: str) -> tuple[TableSpec, Backup] | str:
    """The spec TABLE names (address, catalog.ns.name or ns.name) and its policy's backup."""
    from reconciler.engine.planning import load

    desired, problem = load(settings.specs, settings)
    if desired is None:
        return problem or "invalid specs"
    bare = name.removeprefix("table/")
    matches = [
        t
        for t in desired.tables
        if bare in (t.identifier, ".".join((*t.namespace, t.name))) or name == t.address
    ]
    if not matches:
        return f"no Table spec names {name!r}"
    if len(matches) > 1:
        return f"{name!r} names several tables: " + ", ".join(t.identifier for t in matches)
    table = matches[0]
    policies = {p.name: p for p in desired.policies}
    policy = policies.get(table.policy) if table.policy else None
    if policy is None or policy.backup is None:
        return f"{table.identifier} has no backup: its policy sets no `backup:`"
    return table, policy.backup


def _ready(settings: Settings, name: str) -> tuple[TableSpec, Backup] | None:
    from reconciler.wiring import MissingExtra, require_extra

    try:
        require_extra("pyiceberg", "iceberg", "Backups")
    except MissingExtra as exc:
        error(str(exc))
        return None
    found = _find(settings, name)
    if isinstance(found, str):
        error(found)
        return None
    return found


def cmd_backups(settings: Settings, args: argparse.Namespace) -> int:
    found = _ready(settings, args.table)
    if found is None:
        return EXIT_ERROR
    table, rule = found
    from reconciler.providers.iceberg.backup import target_of
    from reconciler.providers.iceberg.backup_target import BackupError

    try:
        records = target_of(table, rule).records()
    except (BackupError, OSError, ValueError, KeyError) as exc:
        error(f"backups of {table.identifier} on {rule.target} could not be listed: {exc}")
        return EXIT_ERROR
    rows: list[dict[str, Any]] = [
        {
            "id": r.backup_id,
            "time": r.created.isoformat(),
            "snapshot_id": r.snapshot_id,
            "rows": r.rows,
            "size": r.size,
            "target": r.location,
        }
        for r in reversed(records)  # newest first
    ]
    if args.output == "json":
        print(json.dumps({"table": table.identifier, "backups": rows}, indent=2))
        return EXIT_OK
    if not rows:
        print(f"No backups of {table.identifier} under {rule.target}.")
        return EXIT_OK
    head = ("ID", "TIME", "SNAPSHOT", "ROWS", "SIZE", "TARGET")
    cells = [
        (r["id"], r["time"], str(r["snapshot_id"]), str(r["rows"]), str(r["size"]), r["target"])
        for r in rows
    ]
    widths = [max(len(c[i]) for c in (head, *cells)) for i in range(len(head))]
    for line in (head, *cells):
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    return EXIT_OK


def _confirm(prompt: str) -> bool:
    return ask_yes(prompt, "refusing to restore in place without confirmation")


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from reconciler.daemon.lock import LockBusy, cycle_lock

    if args.in_place and args.as_table:
        error("--in-place and --as exclude each other")
        return EXIT_ERROR
    found = _ready(settings, args.table)
    if found is None:
        return EXIT_ERROR
    table, rule = found
    if args.in_place and not args.yes:
        print(
            f"Restore backup {args.backup} into {table.identifier} itself: a new snapshot "
            "replaces all its rows (time travel keeps the state before)."
        )
        if not _confirm("Restore in place?"):
            print("Nothing restored.")
            return EXIT_ERROR
    try:
        with cycle_lock(settings.state_dir, wait=False):
            return _restore(settings, args, table, rule)
    except LockBusy as exc:
        error(str(exc))
        return EXIT_ERROR


def _restore(settings: Settings, args: argparse.Namespace, table: TableSpec, rule: Backup) -> int:
    from reconciler.providers.iceberg.backup import target_of
    from reconciler.providers.iceberg.backup_target import BackupError
    from reconciler.providers.iceberg.catalog import Catalogs, mask
    from reconciler.providers.iceberg.restore import restore

    catalogs = Catalogs({n: dict(p) for n, p in settings.catalogs}, settings.state_dir)
    try:
        done = restore(
            catalogs.get(table.catalog),
            table.namespace,
            table.name,
            target_of(table, rule),
            args.backup,
            into=args.as_table,
            in_place=args.in_place,
        )
    except BackupError as exc:
        error(f"restore refused or failed: {exc}")
        return EXIT_ERROR
    except Exception as exc:  # the catalog's or the store's own error, masked
        error(f"restore failed: {mask(str(exc), catalogs.secrets(table.catalog))}")
        return EXIT_ERROR
    where = f"{table.catalog}.{done.table}"
    if args.output == "json":
        doc = {
            "table": where,
            "backup": done.backup_id,
            "new_table": done.new_table,
            "rows": done.rows,
            "checksum": done.checksum,
            "snapshot_id": done.snapshot_id,
            "previous_snapshot_id": done.previous_snapshot_id,
            "verified": True,
        }
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    print(
        f"Restored backup {done.backup_id} into {where}: {done.rows} rows, "
        f"checksum {done.checksum} verified (snapshot {done.snapshot_id})."
    )
    if done.previous_snapshot_id is not None:
        print(f"The state before is snapshot {done.previous_snapshot_id} (time travel).")
    return EXIT_OK
