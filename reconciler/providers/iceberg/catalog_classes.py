"""pyiceberg's SQL and Hive catalogs with what a reconciler needs on top: parsed metadata
reused by `metadata_location`, bounded thrift timeouts, and stale-lock diagnosis on Hive."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlparse

from hive_metastore.ttypes import LockState, LockType, ShowLocksRequest, UnlockRequest
from hive_metastore.ttypes import Table as HiveTable
from pyiceberg.catalog.hive import HiveCatalog, _HiveClient
from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
from pyiceberg.exceptions import CommitFailedException, NoSuchNamespaceError, NoSuchTableError
from pyiceberg.table import CommitTableResponse, Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.update import TableRequirement, TableUpdate
from pyiceberg.typedef import Identifier
from thrift.transport import TSocket, TTransport

from reconciler.providers.iceberg.metadata_cache import MetadataCache

# Hive's own key and unit (seconds, "60" or "60s"); bounds connect and every read.
TIMEOUT_PROPERTY = "hive.metastore.client.socket.timeout"
DEFAULT_TIMEOUT_SECONDS = 60.0
_SECONDS = re.compile(r"(?P<n>[0-9]+(\.[0-9]+)?) *s?")
LIST_BATCH = 300  # Hive's own hive.metastore.batch.retrieve.max
_LOCK_FAILURE = ("Failed to acquire lock", "Failed to check lock")


def timeout_seconds(properties: dict[str, str]) -> float:
    raw = str(properties.get(TIMEOUT_PROPERTY, DEFAULT_TIMEOUT_SECONDS))
    match = _SECONDS.fullmatch(raw.strip())
    if match is None or float(match["n"]) <= 0:
        raise ValueError(f"{TIMEOUT_PROPERTY} must be a number of seconds, got {raw!r}")
    return float(match["n"])


def _cached_table(
    cache: MetadataCache,
    identifier: Identifier,
    location: str,
    catalog: SqlCatalog | HiveCatalog,
    read: Callable[[], Table],
) -> Table:
    """The table at `location` from the cache, else `read()` (one metadata read), cached."""
    metadata = cast("TableMetadata | None", cache.get(location))
    if metadata is not None:
        return Table(
            identifier=identifier,
            metadata=metadata,
            metadata_location=location,
            io=catalog._load_file_io(metadata.properties, location),
            catalog=catalog,
        )
    table = read()
    cache.put(table.metadata_location, table.metadata)
    return table


class CachingSqlCatalog(SqlCatalog):
    """SqlCatalog whose `load_table` reads a metadata file only for a location not seen yet."""

    def __init__(self, name: str, *, metadata_cache: MetadataCache, **properties: str) -> None:
        self._metadata_cache = metadata_cache
        super().__init__(name, **properties)

    def _convert_orm_to_iceberg(self, orm_table: IcebergTables) -> Table:
        location = orm_table.metadata_location
        if not (location and orm_table.table_namespace and orm_table.table_name):
            return super()._convert_orm_to_iceberg(orm_table)  # its own errors
        identifier = (
            *self.identifier_to_tuple(orm_table.table_namespace),
            orm_table.table_name,
        )
        return _cached_table(
            self._metadata_cache,
            identifier,
            location,
            self,
            lambda: super(CachingSqlCatalog, self)._convert_orm_to_iceberg(orm_table),
        )


class _TimedSocket(TSocket.TSocket):  # type: ignore[misc]  # thrift is untyped
    """A thrift socket whose read timeout says which metastore and which bound."""

    def __init__(self, host: str | None, port: int | None, timeout: float) -> None:
        super().__init__(host, port)
        self.setTimeout(timeout * 1000.0)
        self._bound = timeout

    def read(self, sz: int) -> bytes:
        try:
            return cast(bytes, super().read(sz))
        except TTransport.TTransportException as exc:
            if exc.type != TTransport.TTransportException.TIMED_OUT:
                raise
            raise TTransport.TTransportException(
                type=exc.type,
                message=f"the metastore at {self.host}:{self.port} did not answer within "
                f"{self._bound:g} s ({TIMEOUT_PROPERTY})",
            ) from None


class _TimedHiveClient(_HiveClient):
    """pyiceberg's thrift client with a socket timeout (it has none: a stalled metastore
    would hang a plan forever)."""

    def __init__(self, uri: str, timeout: float, *args: Any) -> None:
        self._timeout = timeout
        super().__init__(uri, *args)

    def _init_thrift_transport(self) -> TTransport.TTransportBase:
        url = urlparse(self._uri)
        socket = _TimedSocket(url.hostname, url.port, self._timeout)
        if not self._kerberos_auth:
            return TTransport.TBufferedTransport(socket)
        return TTransport.TSaslClientTransport(
            socket, host=url.hostname, service=self._kerberos_service_name
        )


@dataclass(frozen=True)
class HeldLock:
    """One metastore lock on a table, as `show_locks` reports it."""

    lock_id: int
    state: str
    kind: str
    user: str
    host: str
    acquired_at: datetime | None
    last_heartbeat: datetime | None


class TableLockedError(CommitFailedException):
    """A commit gave up waiting for the metastore lock; `locks` are the ones holding it."""

    def __init__(self, identifier: Identifier, locks: tuple[HeldLock, ...], cause: str) -> None:
        super().__init__(cause)
        self.identifier = identifier
        self.locks = locks

    def explain(self, address: str, catalog: str) -> str:
        """What holds the table and how a person releases it (we never do on our own)."""
        table = ".".join((catalog, *self.identifier))
        if not self.locks:
            return (
                f"{address}: the metastore did not grant the commit lock in time ({self}); "
                "no lock is listed on the table now: a concurrent writer held it. Re-plan."
            )
        held = "; ".join(_describe(lock) for lock in self.locks)
        first = self.locks[0].lock_id
        return (
            f"{address}: the metastore lock on {table} is held: {held}. A writer that "
            "crashed mid-commit leaves its lock behind, and the reconciler never releases a "
            "lock on its own. If no writer (Spark, pyiceberg, Trino) is working on this "
            f"table, release it with `reconcile force-unlock {table} {first}`, then apply again."
        )


def _describe(lock: HeldLock) -> str:
    def at(moment: datetime | None) -> str:
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"

    return (
        f"lock {lock.lock_id} ({lock.kind}, {lock.state}) by {lock.user}@{lock.host}, "
        f"acquired {at(lock.acquired_at)}, last heartbeat {at(lock.last_heartbeat)}"
    )


def _when(millis: int | None) -> datetime | None:
    return datetime.fromtimestamp(millis / 1000, UTC) if millis else None


def _name(enum: Any, value: int | None) -> str:
    return str(enum._VALUES_TO_NAMES.get(value, value))


class CachingHiveCatalog(HiveCatalog):
    """HiveCatalog with cached metadata, a socket timeout, and lock inspection."""

    def __init__(self, name: str, *, metadata_cache: MetadataCache, **properties: str) -> None:
        self._metadata_cache = metadata_cache
        super().__init__(name, **properties)

    @staticmethod
    def _create_hive_client(properties: dict[str, str]) -> _HiveClient:
        from pyiceberg.catalog import URI
        from pyiceberg.catalog.hive import (
            HIVE_KERBEROS_AUTH,
            HIVE_KERBEROS_AUTH_DEFAULT,
            HIVE_KERBEROS_SERVICE_NAME,
            HIVE_KERBEROS_SERVICE_NAME_DEFAULT,
        )
        from pyiceberg.utils.properties import property_as_bool

        uri = properties[URI].split(",")[0]  # pyiceberg's "failover" never connects either
        return _TimedHiveClient(
            uri,
            timeout_seconds(properties),
            properties.get("ugi"),
            property_as_bool(properties, HIVE_KERBEROS_AUTH, HIVE_KERBEROS_AUTH_DEFAULT),
            properties.get(HIVE_KERBEROS_SERVICE_NAME, HIVE_KERBEROS_SERVICE_NAME_DEFAULT),
        )

    def _convert_hive_into_iceberg(self, table: HiveTable) -> Table:
        parameters = table.parameters or {}
        location = parameters.get("metadata_location")
        if not location or parameters.get("table_type", "").lower() != "iceberg":
            return super()._convert_hive_into_iceberg(table)  # its own errors
        return _cached_table(
            self._metadata_cache,
            (table.dbName, table.tableName),
            location,
            self,
            lambda: super(CachingHiveCatalog, self)._convert_hive_into_iceberg(table),
        )

    def list_iceberg_tables(
        self, namespace: str | Identifier
    ) -> list[tuple[Identifier, HiveTable]]:
        """The namespace's Iceberg tables with their metastore entries, in two round trips
        per batch (pyiceberg's `list_tables` fetches the same objects and drops them)."""
        database = self.identifier_to_database(namespace, NoSuchNamespaceError)
        found: list[HiveTable] = []
        with self._client as client:
            names = client.get_all_tables(db_name=database)
            for start in range(0, len(names), LIST_BATCH):
                batch = names[start : start + LIST_BATCH]
                found.extend(client.get_table_objects_by_name(dbname=database, tbl_names=batch))
        listed = [
            ((database, str(t.tableName)), t)
            for t in found
            if (t.parameters or {}).get("table_type", "").lower() == "iceberg"
        ]
        return sorted(listed, key=lambda pair: pair[0])

    def table_from_listing(self, entry: HiveTable) -> Table:
        """A listed entry as a Table: no metastore call, a metadata read only on a miss."""
        return self._convert_hive_into_iceberg(entry)

    def commit_table(
        self,
        table: Table,
        requirements: tuple[TableRequirement, ...],
        updates: tuple[TableUpdate, ...],
    ) -> CommitTableResponse:
        try:
            return super().commit_table(table, requirements, updates)
        except CommitFailedException as exc:
            if not str(exc).startswith(_LOCK_FAILURE):
                raise
            identifier = table.name()
            raise TableLockedError(identifier, self.locks_on(identifier), str(exc)) from exc

    def locks_on(self, identifier: str | Identifier) -> tuple[HeldLock, ...]:
        """Every metastore lock on the table (read-only)."""
        database, name = self.identifier_to_database_and_table(identifier, NoSuchTableError)
        with self._client as client:
            response = client.show_locks(ShowLocksRequest(dbname=database, tablename=name))
        return tuple(
            HeldLock(
                lock_id=int(lock.lockid),
                state=_name(LockState, lock.state),
                kind=_name(LockType, lock.type),
                user=str(lock.user or "?"),
                host=str(lock.hostname or "?"),
                acquired_at=_when(lock.acquiredat),
                last_heartbeat=_when(lock.lastheartbeat),
            )
            for lock in response.locks or ()
            if (lock.dbname or "").lower() == database.lower()
            and (lock.tablename or "").lower() == name.lower()
        )

    def force_unlock(self, identifier: str | Identifier, lock_id: int) -> HeldLock:
        """Release one lock, only if it is on this table; a person asked for it by id."""
        held = {lock.lock_id: lock for lock in self.locks_on(identifier)}
        if lock_id not in held:
            found = ", ".join(str(i) for i in sorted(held)) or "none"
            raise LookupError(f"lock {lock_id} is not on {identifier} (locks there: {found})")
        with self._client as client:
            client.unlock(UnlockRequest(lockid=lock_id))
        return held[lock_id]
