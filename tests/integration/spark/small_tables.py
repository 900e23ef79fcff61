"""Tables of many small files for the tests of one maintenance run over several tables:
what they hold, the policy that makes them due, and how rows are compared."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog

from reconciler.model.policies import Compaction, MaintenancePolicy, SnapshotExpiry
from reconciler.model.tables import ColumnSpec, PrimitiveType, TableSpec
from reconciler.model.units import MIB
from reconciler.plan.change import Operation
from reconciler.plan.maintenance_ops import CallProcedure

APPENDS = 30
GOOD = ("t1", "t2", "t3")
BAD = "broken"
SCHEMA = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string())])
POLICY = MaintenancePolicy(
    name="test",
    compaction=Compaction(small_file_size=32 * MIB, min_small_files=10),
    expire_snapshots=SnapshotExpiry(older_than=1, retain_last=2),
    max_concurrent_jobs=2,
)


def make_tables(catalog: SqlCatalog) -> list[TableSpec]:
    """GOOD and BAD in `sales`, APPENDS small files each; their specs under POLICY."""
    specs = []
    for name in (*GOOD, BAD):
        table = catalog.create_table(f"sales.{name}", SCHEMA, properties={"format-version": "2"})
        for i in range(APPENDS):
            ids = list(range(i * 5, i * 5 + 5))
            table.append(pa.table({"id": ids, "name": [f"{name}{n}" for n in ids]}, SCHEMA))
        specs.append(
            TableSpec(
                "lake",
                ("sales",),
                name,
                fields=(ColumnSpec("id", PrimitiveType("long"), required=True),),
                policy="test",
            )
        )
    return specs


def checksum(catalog: SqlCatalog, name: str) -> tuple[int, str]:
    rows = sorted(catalog.load_table(f"sales.{name}").scan().to_arrow().to_pylist(), key=str)
    return len(rows), hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def bad_option(op: Operation) -> CallProcedure:
    """The same call with an option value Iceberg refuses."""
    assert isinstance(op, CallProcedure)
    options = tuple((k, "not-a-number" if k == "min-input-files" else v) for k, v in op.options)
    return replace(op, options=options)
