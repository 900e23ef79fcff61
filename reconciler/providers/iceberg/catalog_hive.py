"""pyiceberg's Hive catalog with what a reconciler needs on top: parsed metadata reused by
`metadata_location`, bounded thrift timeouts, and stale-lock diagnosis."""

from __future__ import annotations

import re
from typing import Any, cast
from urllib.parse import urlparse

from hive_metastore.ttypes import (
    ConfigValSecurityException,
    ShowLocksRequest,
    UnlockRequest,
)
from hive_metastore.ttypes import Table as HiveTable
from pyiceberg.catalog.hive import HiveCatalog, _HiveClient
from pyiceberg.exceptions import CommitFailedException, NoSuchNamespaceError, NoSuchTableError
from pyiceberg.table import CommitTableResponse, Table
from pyiceberg.table.update import TableRequirement, TableUpdate
from pyiceberg.typedef import Identifier
from thrift.Thrift import TApplicationException
from thrift.transport import TSocket, TTransport

from reconciler.providers.iceberg.catalog_classes import cached_table
from reconciler.providers.iceberg.hive_listing import (
    TRANSACTIONAL_LISTENERS,
    list_database,
    trusts_log,
)
from reconciler.providers.iceberg.hive_locks import HeldLock, TableLockedError, held_locks
from reconciler.providers.iceberg.metadata_cache import MetadataCache

# Hive's own key and unit (seconds, "60" or "60s"); bounds connect and every read.
TIMEOUT_PROPERTY = "hive.metastore.client.socket.timeout"
DEFAULT_TIMEOUT_SECONDS = 60.0
_SECONDS = re.compile(r"(?P<n>[0-9]+(\.[0-9]+)?) *s?")
_LOCK_FAILURE = ("Failed to acquire lock", "Failed to check lock")


def timeout_seconds(properties: dict[str, str]) -> float:
    raw = str(properties.get(TIMEOUT_PROPERTY, DEFAULT_TIMEOUT_SECONDS))
    match = _SECONDS.fullmatch(raw.strip())
    if match is None or float(match["n"]) <= 0:
        raise ValueError(f"{TIMEOUT_PROPERTY} must be a number of seconds, got {raw!r}")
    return float(match["n"])


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


class CachingHiveCatalog(HiveCatalog):
    """HiveCatalog with cached metadata, a socket timeout, and lock inspection."""

    def __init__(self, name: str, *, metadata_cache: MetadataCache, **properties: str) -> None:
        self._metadata_cache = metadata_cache
        self._log_trusted: bool | None = None  # asked once per catalog object (per cycle)
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
        return cached_table(
            self._metadata_cache,
            (table.dbName, table.tableName),
            location,
            self,
            lambda: super(CachingHiveCatalog, self)._convert_hive_into_iceberg(table),
        )

    def list_iceberg_tables(
        self, namespace: str | Identifier
    ) -> list[tuple[Identifier, HiveTable]]:
        """The namespace's Iceberg tables with their metastore entries. A daemon's later
        cycles bring the last listing up to date from the notification log when the
        metastore keeps one transactionally; else two round trips per batch of names
        (pyiceberg's `list_tables` fetches the same objects and drops them)."""
        database = self.identifier_to_database(namespace, NoSuchNamespaceError)
        with self._client as client:
            entries = list_database(
                client,
                database,
                self._metadata_cache.listings,
                self.properties.get("uri", ""),
                self._trusts_log(client),
            )
        listed = [((database, str(t.tableName)), t) for t in entries]
        return sorted(listed, key=lambda pair: pair[0])

    def _trusts_log(self, client: Any) -> bool:
        if self._log_trusted is None:
            try:
                value = client.get_config_value(name=TRANSACTIONAL_LISTENERS, defaultValue="")
            except (ConfigValSecurityException, TApplicationException):
                # a metastore that will not say (or is too old to): list in full, always
                value = ""
            self._log_trusted = trusts_log(str(value or ""))
        return self._log_trusted

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
        return held_locks(response, database, name)

    def force_unlock(self, identifier: str | Identifier, lock_id: int) -> HeldLock:
        """Release one lock, only if it is on this table; a person asked for it by id."""
        held = {lock.lock_id: lock for lock in self.locks_on(identifier)}
        if lock_id not in held:
            found = ", ".join(str(i) for i in sorted(held)) or "none"
            raise LookupError(f"lock {lock_id} is not on {identifier} (locks there: {found})")
        with self._client as client:
            client.unlock(UnlockRequest(lockid=lock_id))
        return held[lock_id]
