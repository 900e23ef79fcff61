"""Hive listings kept between cycles and brought up to date from the metastore's
notification log: an unchanged namespace costs one call (the log's last event id), not a
fetch per table.

The log is trusted only when the metastore writes it in the same transaction as the change
(DbNotificationListener among `hive.metastore.transactional.event.listeners`): then no
change can commit without its event. Anything else (no listener, a gap in the event ids,
more events than MAX_EVENTS, a listing older than MAX_AGE_SECONDS) lists the namespace again.
"""

from __future__ import annotations

from typing import Any

from hive_metastore.ttypes import NotificationEventRequest
from hive_metastore.ttypes import Table as HiveTable

from reconciler.providers.iceberg.metadata_cache import Listing, ListingMemo

LISTENER = "org.apache.hive.hcatalog.listener.DbNotificationListener"
TRANSACTIONAL_LISTENERS = "hive.metastore.transactional.event.listeners"
LIST_BATCH = 300  # Hive's own hive.metastore.batch.retrieve.max
MAX_EVENTS = 1000  # more changes than this since the last listing: list again
MAX_AGE_SECONDS = 3600.0  # list again at least hourly, whatever the log says
_NAMESPACE_EVENTS = frozenset({"CREATE_DATABASE", "DROP_DATABASE", "ALTER_DATABASE"})


def trusts_log(transactional_listeners: str) -> bool:
    """True when the metastore writes its notification log transactionally."""
    return LISTENER in {part.strip() for part in transactional_listeners.split(",")}


def _is_iceberg(entry: HiveTable) -> bool:
    return str((entry.parameters or {}).get("table_type", "")).lower() == "iceberg"


def fetch_tables(client: Any, database: str, names: list[str]) -> list[HiveTable]:
    """The entries of `names`, LIST_BATCH per call (names that no longer exist are absent)."""
    found: list[HiveTable] = []
    for start in range(0, len(names), LIST_BATCH):
        batch = names[start : start + LIST_BATCH]
        found.extend(client.get_table_objects_by_name(dbname=database, tbl_names=batch))
    return found


def _named_since(client: Any, database: str, since: int, current: int) -> set[str] | None:
    """Tables of `database` named by events since..current; None: list the namespace again."""
    request = NotificationEventRequest(lastEvent=since, maxEvents=current - since)
    events = client.get_next_notification(request).events or []
    if [int(e.eventId) for e in events] != list(range(since + 1, current + 1)):
        return None  # a gap: the log was cleaned, or events are missing
    names: set[str] = set()
    for event in events:
        if (event.dbName or "").lower() != database.lower():
            continue
        if event.eventType in _NAMESPACE_EVENTS:
            return None
        if event.tableName:
            names.add(str(event.tableName).lower())
    return names


def _listing(entries: list[HiveTable], others: set[str], event_id: int, at: float) -> Listing:
    tables = {str(t.tableName).lower(): t for t in entries if _is_iceberg(t)}
    others |= {str(t.tableName).lower() for t in entries if not _is_iceberg(t)}
    return Listing(event_id, tables, frozenset(others), at)


def refreshed(
    client: Any, database: str, memo: Listing | None, current: int, now: float
) -> Listing | None:
    """`memo` brought up to event `current`, or None when only a full listing will do.

    With events since, the names are listed again (one cheap call: a rename or a move to
    another database names the table by one name only) and only tables that are new or
    named by an event are fetched."""
    if memo is None or now - memo.listed_at > MAX_AGE_SECONDS or current < memo.event_id:
        return None
    if current == memo.event_id:
        return memo
    if current - memo.event_id > MAX_EVENTS:
        return None
    named = _named_since(client, database, memo.event_id, current)
    if named is None:
        return None
    names = {str(n).lower() for n in client.get_all_tables(db_name=database)}
    kept = [t for n, t in memo.tables.items() if n in names and n not in named]
    others = {n for n in memo.others if n in names and n not in named}
    wanted = sorted(names - {str(t.tableName).lower() for t in kept} - others)
    return _listing(kept + fetch_tables(client, database, wanted), others, current, memo.listed_at)


def list_database(
    client: Any, database: str, memo: ListingMemo | None, uri: str, trusted: bool
) -> list[HiveTable]:
    """The database's Iceberg entries: from the memo when the log vouches for it."""
    if memo is None or not trusted:
        entries = fetch_tables(client, database, client.get_all_tables(db_name=database))
        return [t for t in entries if _is_iceberg(t)]
    key = (uri, database.lower())
    current = int(client.get_current_notificationEventId().eventId)  # before reading: safe
    listing = refreshed(client, database, memo.get(key), current, memo.now())
    full = listing is None
    if listing is None:
        entries = fetch_tables(client, database, client.get_all_tables(db_name=database))
        listing = _listing(entries, set(), current, memo.now())
    memo.put(key, listing, full=full)
    return list(listing.tables.values())
