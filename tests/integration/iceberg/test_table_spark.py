"""Cross-engine: Spark 4 reads a table the reconciler created and evolved, with the same
schema and partition spec (pyspark local[1] in a subprocess, SQLite JDBC catalog)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from table_helpers import ORDERS, converge, table_spec

from reconciler.providers.iceberg.catalog import Catalogs
from tests.integration.spark.spark_env import SQLITE_JDBC, local_jars

pytestmark = pytest.mark.spark
SCRIPT = Path(__file__).with_name("spark_describe.py")


def test_spark_sees_reconciled_schema_and_partitioning(tmp_path: Path) -> None:
    jars = ",".join((*local_jars(), str(SQLITE_JDBC)))  # skips or, in CI, fails if missing
    cats = Catalogs({"lake": {}}, state_dir=tmp_path)
    converge(cats, (table_spec(ORDERS),))
    table = cats.get("lake").load_table("shop.orders")
    table.append(
        pa.Table.from_pylist(
            [{"order_id": 1, "ts": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)}],
            schema=table.schema().as_arrow(),
        )
    )
    evolved = table_spec(
        ORDERS.replace(
            "{name: mail, type: string}", "{name: email, type: string, renamedFrom: mail}"
        )
        .replace("{name: qty, type: int}", "{name: qty, type: long}")
        .replace("{source: ts, transform: day}", '{source: order_id, transform: "bucket[8]"}')
    )
    converge(cats, (evolved,))

    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update(
        PATH=f"{venv_bin}:{env.get('PATH', '')}",
        PYSPARK_PYTHON=sys.executable,
        SPARK_LOCAL_IP="127.0.0.1",
    )
    db = tmp_path / "iceberg" / "lake.db"
    warehouse = (tmp_path / "iceberg" / "warehouse").as_uri()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(db), warehouse, "shop.orders", jars],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, done.stderr[-3000:]
    seen = json.loads(lines[-1][len("RESULT ") :])
    expected = [
        [f.name, f.required] for f in cats.get("lake").load_table("shop.orders").schema().fields
    ]
    assert [[name, not nullable] for name, _, nullable in seen["columns"]] == expected
    types = {name: kind for name, kind, _ in seen["columns"]}
    assert types["qty"] == "bigint" and types["email"] == "string"
    assert types["amount"] == "decimal(10,2)"
    assert seen["partitioning"] == ["bucket(8, order_id)"]
    assert seen["count"] == 1
