"""`state: absent` drops an owned table only with both opt-ins, never purges its files,
and a table that changed since the plan is not dropped."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
from pyiceberg.types import StringType

from reconciler.apply.errors import PreconditionFailed
from reconciler.plan.change import Action
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.writer import IcebergApplier
from tests.integration.iceberg.table_helpers import converge, plan, table_spec

EVENTS = """
apiVersion: reconciler/v1
kind: Table
metadata: {name: events}
spec:
  catalog: lake
  namespace: raw
  name: events
  schema:
    - {name: id, type: long, required: true}
    - {name: body, type: string}
"""


def _absent(allow: bool) -> str:
    extra = "  state: absent\n" + ("  allowDestructive: true\n" if allow else "")
    return EVENTS + extra


def test_drop_needs_both_opt_ins_and_keeps_the_files(catalogs: Catalogs) -> None:
    present = table_spec(EVENTS)
    converge(catalogs, (present,))
    table = catalogs.get("lake").load_table(("raw", "events"))
    table.append(
        pa.Table.from_pylist(
            [{"id": 1, "body": "kept"}],
            schema=pa.schema(
                [pa.field("id", pa.int64(), nullable=False), pa.field("body", pa.string())]
            ),
        )
    )
    data_files = [f.file.file_path for f in table.scan().plan_files()]
    assert data_files

    for spec, flag in ((table_spec(_absent(False)), True), (table_spec(_absent(True)), False)):
        (line,) = plan(catalogs, (spec,), allow_destructive=flag)
        assert line.action is Action.REFUSE and "dropping a table" in line.reason
    assert catalogs.get("lake").table_exists(("raw", "events"))

    spec = table_spec(_absent(True))
    (line,) = plan(catalogs, (spec,), allow_destructive=True)
    assert line.action is Action.DELETE and "not purged" in line.reason
    outcome = IcebergApplier(catalogs).apply(line)
    assert "files kept" in outcome.message
    assert not catalogs.get("lake").table_exists(("raw", "events"))
    # HMS writes locations as file:/path, the SQL catalog as file:///path.
    assert all(Path(urlparse(p).path).exists() for p in data_files)  # no data lost
    assert plan(catalogs, (spec,), allow_destructive=True) == ()  # absent and gone: converged


def test_a_table_changed_since_the_plan_is_not_dropped(catalogs: Catalogs) -> None:
    converge(catalogs, (table_spec(EVENTS),))
    spec = table_spec(_absent(True))
    (line,) = plan(catalogs, (spec,), allow_destructive=True)
    table = catalogs.get("lake").load_table(("raw", "events"))
    with table.update_schema() as update:
        update.add_column("late", StringType())
    try:
        IcebergApplier(catalogs).apply(line)
    except PreconditionFailed:
        pass
    else:
        raise AssertionError("a changed table was dropped")
    assert catalogs.get("lake").table_exists(("raw", "events"))
