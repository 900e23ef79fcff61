"""pyiceberg's SQL catalog with what a reconciler needs on top: parsed metadata reused by
`metadata_location`; the helpers the Hive catalog (`catalog_hive`) shares. No thrift here, so
an SQL catalog never loads the Hive modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
from pyiceberg.table import Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.typedef import Identifier

from reconciler.providers.iceberg.metadata_cache import MetadataCache

if TYPE_CHECKING:
    from pyiceberg.catalog.hive import HiveCatalog


def cached_table(
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
        return cached_table(
            self._metadata_cache,
            identifier,
            location,
            self,
            lambda: super(CachingSqlCatalog, self)._convert_orm_to_iceberg(orm_table),
        )
