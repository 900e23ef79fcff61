"""Desired and observed Iceberg tables as frozen data; pure, no I/O, no pyiceberg types.

Types are canonical strings for primitives (`long`, `decimal(12,2)`,
`fixed[16]`, `timestamptz`) and small frozen nodes for nested types, so the
differ compares spec and catalog with `==`. Converting pyiceberg objects into
these happens in providers/iceberg, never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

from reconciler.model.containers import DriftMode, SourceRef

MANAGED_BY_PROPERTY = "reconciler.managed-by"  # table property marking a table as ours
MANAGED_BY_VALUE = "datalake-reconciler"
DEFAULT_FORMAT_VERSION = 2
# Added to every table we create unless the spec sets the key; part of the desired
# state, so they never show up as drift (pyiceberg sets no codec; Spark then writes gzip).
DEFAULT_PROPERTIES: tuple[tuple[str, str], ...] = (("write.parquet.compression-codec", "zstd"),)
# Properties the catalog or table format owns; never compared, never removed.
RESERVED_PROPERTIES = frozenset({"format-version", "current-snapshot-id", "uuid", "location"})


class SortDirection(StrEnum):
    ASC = "asc"
    DESC = "desc"


class NullOrder(StrEnum):
    FIRST = "first"
    LAST = "last"


@dataclass(frozen=True)
class PrimitiveType:
    """`boolean int long float double date time timestamp timestamptz string uuid
    binary fixed[N] decimal(P,S)` as one canonical string."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class StructType:
    fields: tuple[ColumnSpec, ...]

    def __str__(self) -> str:
        return "struct<" + ", ".join(f"{f.name}: {f.type}" for f in self.fields) + ">"


@dataclass(frozen=True)
class ListType:
    element: IcebergType
    element_required: bool = False
    element_id: int | None = None

    def __str__(self) -> str:
        return f"list<{self.element}>"


@dataclass(frozen=True)
class MapType:
    key: IcebergType
    value: IcebergType
    value_required: bool = False
    key_id: int | None = None
    value_id: int | None = None

    def __str__(self) -> str:
        return f"map<{self.key}, {self.value}>"


IcebergType: TypeAlias = PrimitiveType | StructType | ListType | MapType


@dataclass(frozen=True)
class ColumnSpec:
    """One schema field. `id` is the Iceberg field id (optional on the desired side);
    `renamed_from` is the previous name, the only way a rename is recognised."""

    name: str
    type: IcebergType
    required: bool = False
    doc: str | None = None
    id: int | None = None
    renamed_from: str | None = None


@dataclass(frozen=True)
class PartitionField:
    """`transform` is canonical: identity|year|month|day|hour|bucket[N]|truncate[W]|void.
    `name` None means the conventional name (`ts_day`, `order_id_bucket_16`)."""

    source: str
    transform: str = "identity"
    name: str | None = None


@dataclass(frozen=True)
class SortField:
    source: str
    transform: str = "identity"
    direction: SortDirection = SortDirection.ASC
    nulls: NullOrder = NullOrder.FIRST


@dataclass(frozen=True)
class TableSpec:
    """One desired table from a `kind: Table` document, validated and normalised.

    `properties` are the keys the spec manages (defaults included, sorted);
    `properties_remove` are keys the spec asks to remove explicitly. Other keys
    on the table are left alone.
    """

    catalog: str
    namespace: tuple[str, ...]
    name: str
    fields: tuple[ColumnSpec, ...]
    partition_by: tuple[PartitionField, ...] = ()
    sort_by: tuple[SortField, ...] = ()
    properties: tuple[tuple[str, str], ...] = DEFAULT_PROPERTIES
    properties_remove: tuple[str, ...] = ()
    location: str | None = None
    policy: str | None = None
    allow_destructive: bool = False
    absent: bool = False  # `state: absent`: drop from the catalog (both opt-ins needed)
    depends_on: tuple[str, ...] = ()  # addresses, e.g. ("container/hive",)
    drift: DriftMode = DriftMode.ENFORCE
    format_version: int = DEFAULT_FORMAT_VERSION
    metadata_name: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    source: SourceRef | None = None

    @property
    def identifier(self) -> str:
        return ".".join((self.catalog, *self.namespace, self.name))

    @property
    def address(self) -> str:
        return table_address(self.catalog, self.namespace, self.name)


@dataclass(frozen=True)
class SnapshotSummary:
    """The current snapshot, if any: enough for reports and maintenance triggers."""

    snapshot_id: int
    timestamp_ms: int
    operation: str | None = None
    summary: tuple[tuple[str, str], ...] = ()  # e.g. ("total-records", "42")


@dataclass(frozen=True)
class ObservedTable:
    """One table as the catalog reports it, converted to our model."""

    catalog: str
    namespace: tuple[str, ...]
    name: str
    fields: tuple[ColumnSpec, ...]
    schema_id: int
    spec_id: int
    sort_order_id: int
    partition_by: tuple[PartitionField, ...] = ()
    sort_by: tuple[SortField, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()
    location: str = ""
    format_version: int = DEFAULT_FORMAT_VERSION
    last_column_id: int = 0
    snapshot: SnapshotSummary | None = None
    snapshot_count: int = 0
    metadata_location: str | None = None

    @property
    def owned(self) -> bool:
        return dict(self.properties).get(MANAGED_BY_PROPERTY) == MANAGED_BY_VALUE

    @property
    def identifier(self) -> str:
        return ".".join((self.catalog, *self.namespace, self.name))

    @property
    def address(self) -> str:
        return table_address(self.catalog, self.namespace, self.name)


@dataclass(frozen=True)
class TableInventory:
    """What observe found: namespaces per catalog and every table loaded.

    `namespaces` holds (catalog, namespace parts) pairs that exist; `tables`
    holds owned and unowned tables alike (ownership is a property of each).
    `errors` holds (catalog, message) for catalogs that could not be read; the
    differ plans nothing for tables in those catalogs.
    """

    namespaces: tuple[tuple[str, tuple[str, ...]], ...] = ()
    tables: tuple[ObservedTable, ...] = ()
    errors: tuple[tuple[str, str], ...] = ()

    def table(self, address: str) -> ObservedTable | None:
        for table in self.tables:
            if table.address == address:
                return table
        return None


def table_address(catalog: str, namespace: tuple[str, ...], name: str) -> str:
    return "table/" + ".".join((catalog, *namespace, name))
