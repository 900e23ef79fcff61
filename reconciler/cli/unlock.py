"""`reconcile force-unlock TABLE LOCK_ID`: a person releases one metastore lock a crashed
writer left on a table (the reconciler never releases a lock on its own)."""

from __future__ import annotations

import argparse

from reconciler.cli.common import ask_yes, error
from reconciler.cli.exit_codes import EXIT_ERROR, EXIT_OK
from reconciler.settings import Settings


def _split(table: str) -> tuple[str, tuple[str, ...]] | None:
    parts = tuple(table.removeprefix("table/").split("."))
    if len(parts) < 3 or not all(parts):
        return None
    return parts[0], parts[1:]


def _ask(prompt: str) -> bool:
    return ask_yes(prompt, "refusing to release a lock without confirmation")


def cmd_force_unlock(settings: Settings, args: argparse.Namespace) -> int:
    from reconciler.wiring import MissingExtra, require_extra

    split = _split(args.table)
    if split is None:
        error(f"{args.table!r} is not CATALOG.NAMESPACE.TABLE (e.g. lake.sales.orders)")
        return EXIT_ERROR
    catalog_name, identifier = split
    if catalog_name not in dict(settings.catalogs):
        error(f"catalog {catalog_name!r} is not configured (see `catalogs` in the config)")
        return EXIT_ERROR
    try:
        require_extra("pyiceberg", "iceberg", "Iceberg catalogs")
    except MissingExtra as exc:
        error(str(exc))
        return EXIT_ERROR
    from reconciler.providers.iceberg.catalog import Catalogs, mask
    from reconciler.providers.iceberg.catalog_hive import CachingHiveCatalog

    catalogs = Catalogs({n: dict(p) for n, p in settings.catalogs}, settings.state_dir)
    try:
        catalog = catalogs.get(catalog_name)
        if not isinstance(catalog, CachingHiveCatalog):
            error(f"catalog {catalog_name!r} is not a Hive Metastore: it has no table locks")
            return EXIT_ERROR
        held = {lock.lock_id: lock for lock in catalog.locks_on(identifier)}
        lock = held.get(args.lock_id)
        if lock is None:
            found = ", ".join(str(i) for i in sorted(held)) or "none"
            error(f"lock {args.lock_id} is not on {args.table} (locks there: {found})")
            return EXIT_ERROR
        print(
            f"Lock {lock.lock_id} on {args.table}: {lock.kind}, {lock.state}, held by "
            f"{lock.user}@{lock.host} since {lock.acquired_at or 'unknown'}, last heartbeat "
            f"{lock.last_heartbeat or 'never'}.\nRelease it only if no writer is working on "
            "this table: a live writer's commit could then be overwritten."
        )
        if not args.yes and not _ask("Release this lock?"):
            print("Nothing released.")
            return EXIT_ERROR
        catalog.force_unlock(identifier, args.lock_id)
    except Exception as exc:  # the metastore's own error, masked
        error(f"catalog {catalog_name}: {mask(str(exc), catalogs.secrets(catalog_name))}")
        return EXIT_ERROR
    print(f"Lock {args.lock_id} on {args.table} released.")
    return EXIT_OK
