"""Small files count for compaction only where they can be merged: two or more in the same
partition. Lone small files (one per day, say) never trigger a rewrite that changes nothing."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.health import count_small_files
from tests.integration.iceberg.table_helpers import converge, table_spec

DAILY = """
apiVersion: reconciler/v1
kind: Table
metadata: {name: daily}
spec:
  catalog: lake
  namespace: raw
  name: daily
  schema:
    - {name: id, type: long, required: true}
    - {name: day, type: date, required: true}
  partitionBy:
    - {source: day, transform: identity}
"""
SCHEMA = pa.schema(
    [pa.field("id", pa.int64(), nullable=False), pa.field("day", pa.date32(), nullable=False)]
)


def test_only_small_files_sharing_a_partition_count(catalogs: Catalogs) -> None:
    converge(catalogs, (table_spec(DAILY),))
    table = catalogs.get("lake").load_table(("raw", "daily"))
    for day in range(1, 6):  # five days, one small file each: nothing to merge
        table.append(pa.Table.from_pylist([{"id": day, "day": date(2026, 11, day)}], schema=SCHEMA))
    assert count_small_files(table, 32 * 1024**2) == (0, 0)
    for n in range(3):  # three more files on one day: those four can be merged
        table.append(
            pa.Table.from_pylist([{"id": 100 + n, "day": date(2026, 11, 3)}], schema=SCHEMA)
        )
    assert count_small_files(table, 32 * 1024**2) == (4, 1)
    assert count_small_files(table, 10) == (0, 0)  # nothing is under 10 bytes
