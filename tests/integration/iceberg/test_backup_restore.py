"""Backups on real catalogs (SQLite, PostgreSQL, Hive) and real targets (a directory, moto's S3):
back up, damage the table, restore; rows and schema identical by count and checksum."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pyarrow as pa
import pytest
from moto.server import ThreadedMotoServer
from pyiceberg.expressions import GreaterThanOrEqual, LessThan
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.types import LongType, StringType

from reconciler.apply.errors import PermanentError
from reconciler.model.policies import Backup, BackupCredentials, MaintenancePolicy
from reconciler.model.tables import ColumnSpec, PrimitiveType, TableSpec
from reconciler.plan.backup_ops import ExportBackup
from reconciler.plan.change import Action, Change
from reconciler.providers.iceberg.backup import BackupApplier, export, list_backups, target_of
from reconciler.providers.iceberg.backup_target import BackupError
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.restore import default_name, restore
from tests.integration.iceberg.backup_data import SCHEMA, make_table, rows, table_checksum

CATALOGS = pytest.mark.parametrize("catalogs", ["sqlite", "postgres", "hive"], indirect=True)
T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
IDENT = ("sales", "orders")
SPEC = TableSpec(
    "lake", ("sales",), "orders", (ColumnSpec("id", PrimitiveType("long")),), policy="nightly"
)


def _line(rule: Backup) -> Change:
    """The plan line the differ makes for SPEC under `rule`."""
    op = ExportBackup(
        "lake",
        ("sales",),
        "orders",
        rule.target,
        rule.keep_last,
        endpoint=rule.endpoint,
        region=rule.region,
        access_key_id_env=rule.credentials.access_key_id_env,
        secret_access_key_env=rule.credentials.secret_access_key_env,
    )
    return Change(SPEC.address, Action.BACKUP, "test", operations=(op,))


class _Backups:
    """BackupApplier on a movable clock, applying SPEC's backup line."""

    def __init__(self, catalogs: Catalogs, rule: Backup, at: list[datetime]) -> None:
        self.applier = BackupApplier(catalogs, clock=lambda: at[0], rows_per_file=250)
        self.line = _line(rule)


def _applier(catalogs: Catalogs, rule: Backup, at: list[datetime]) -> _Backups:
    return _Backups(catalogs, rule, at)


def _back_up(backups: _Backups) -> str:
    outcome = backups.applier.apply(backups.line)
    return str(dict(outcome.result)["backup_id"])


@CATALOGS
def test_round_trip_survives_deletes_schema_evolution_and_drop(
    catalogs: Catalogs, tmp_path: Path
) -> None:
    catalog = catalogs.get("lake")
    table = make_table(catalog, IDENT)
    names = [f.name for f in SCHEMA.fields]
    before = table_checksum(table, names)
    assert before.rows == 1200
    rule = Backup(target=(tmp_path / "backups").as_uri(), keep_last=3)
    backup_id = _back_up(_applier(catalogs, rule, [T0]))
    target = target_of(SPEC, rule)
    manifest = target.manifest(backup_id)
    assert manifest["rows"] == 1200 and manifest["checksum"]["value"] == before.value
    assert len(manifest["files"]) == 5  # 250 rows a file
    assert [f["source-id"] for f in manifest["partition_spec"]["fields"]] == [2, 3]
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])

    # 1. rows deleted: an in-place restore brings them back; time travel keeps the damage.
    table.delete(LessThan("id", 500))
    damaged = catalog.load_table(IDENT).current_snapshot()
    assert damaged is not None
    done = restore(catalog, ("sales",), "orders", target, backup_id, in_place=True)
    table = catalog.load_table(IDENT)
    after = table_checksum(table, names)
    assert (after.rows, after.value) == (1200, before.value)
    assert done.previous_snapshot_id == damaged.snapshot_id
    assert table_checksum(table, names, damaged.snapshot_id).rows == 700

    # 2. schema evolved: renamed (top level and nested), promoted, added: matched by field id.
    with table.update_schema() as update:
        update.rename_column("region", "area")
        update.rename_column("addr.city", "town")
        update.update_column("qty", LongType())
        update.add_column("note", StringType())
    table = catalog.load_table(IDENT)
    table.delete(GreaterThanOrEqual("id", 100))
    restore(catalog, ("sales",), "orders", target, backup_id, in_place=True)
    table = catalog.load_table(IDENT)
    evolved = ["id", "area", "ts", "amount", "qty", "addr", "tags", "attrs", "day", "blob"]
    after = table_checksum(table, evolved)
    assert (after.rows, after.value) == (1200, before.value)
    notes = table.scan(selected_fields=("note",)).to_arrow().column("note")
    assert notes.null_count == 1200
    assert table.schema().find_field("addr.town").field_id == 11

    # 3. dropped and recreated: into a new table by default, with the backup's schema.
    catalog.drop_table(IDENT)
    recreated = catalog.create_table(IDENT, SCHEMA)
    recreated.append(pa.Table.from_pylist(rows(5000, 3), schema=schema_to_pyarrow(SCHEMA)))
    done = restore(catalog, ("sales",), "orders", target, backup_id)
    assert done.table == f"sales.{default_name('orders', backup_id)}" and done.new_table
    copy = catalog.load_table(("sales", default_name("orders", backup_id)))
    assert copy.schema().as_struct() == SCHEMA.as_struct()
    assert [f.name for f in copy.spec().fields] == ["region", "ts_day"]
    after = table_checksum(copy, names)
    assert (after.rows, after.value) == (1200, before.value)
    with pytest.raises(BackupError, match="already exists"):
        restore(catalog, ("sales",), "orders", target, backup_id)  # never overwrites
    done = restore(catalog, ("sales",), "orders", target, backup_id, in_place=True)
    after = table_checksum(catalog.load_table(IDENT), names)
    assert (after.rows, after.value) == (1200, before.value)


@CATALOGS
def test_restore_refuses_a_dropped_column_and_leaves_the_table_alone(
    catalogs: Catalogs, tmp_path: Path
) -> None:
    catalog = catalogs.get("lake")
    table = make_table(catalog, IDENT, batches=1, size=50)
    target = target_of(SPEC, Backup(target=(tmp_path / "b").as_uri()))
    made = export(table, "lake.sales.orders", target, T0)
    with table.update_schema() as update:
        update.delete_column("blob")
    table = catalog.load_table(IDENT)
    current = table.current_snapshot()
    with pytest.raises(BackupError, match="column 'blob' \\(field id 10\\) was dropped"):
        restore(catalog, ("sales",), "orders", target, made.backup_id, in_place=True)
    assert catalog.load_table(IDENT).current_snapshot() == current


@CATALOGS
def test_a_restore_that_fails_verification_leaves_no_table(
    catalogs: Catalogs, tmp_path: Path
) -> None:
    catalog = catalogs.get("lake")
    table = make_table(catalog, IDENT, batches=1, size=60)
    target = target_of(SPEC, Backup(target=(tmp_path / "b").as_uri()))
    made = export(table, "lake.sales.orders", target, T0)
    path = Path(target.path(made.backup_id, "manifest.json"))
    doc = json.loads(path.read_text())
    doc["checksum"]["value"] = "0" * 16
    path.write_text(json.dumps(doc))
    with pytest.raises(BackupError, match="failed verification: row checksum"):
        restore(catalog, ("sales",), "orders", target, made.backup_id, into="copy")
    assert not catalog.table_exists(("sales", "copy"))
    before = catalog.load_table(IDENT).current_snapshot()
    with pytest.raises(BackupError, match="failed verification"):
        restore(catalog, ("sales",), "orders", target, made.backup_id, in_place=True)
    assert catalog.load_table(IDENT).current_snapshot() == before  # rolled back

    data = Path(target.path(made.backup_id, "data", "part-00000.parquet"))
    data.write_bytes(data.read_bytes()[:-10])
    with pytest.raises(BackupError, match=r"damaged: data/part-00000\.parquet does not match"):
        restore(catalog, ("sales",), "orders", target, made.backup_id, into="copy")
    assert not catalog.table_exists(("sales", "copy"))


def test_keep_last_prunes_only_after_a_verified_backup(tmp_path: Path) -> None:
    catalogs = Catalogs({"lake": {"warehouse": (tmp_path / "wh").as_uri()}}, state_dir=tmp_path)
    table = make_table(catalogs.get("lake"), IDENT, batches=1, size=20)
    rule = Backup(target=(tmp_path / "b").as_uri(), keep_last=2)
    at = [T0]
    applier = _applier(catalogs, rule, at)
    target = target_of(SPEC, rule)
    made = []
    for day in range(3):
        at[0] = T0 + timedelta(days=day)
        if day == 1:  # an interrupted backup: files, no manifest
            Path(target.path("20261201T120000Z", "data")).mkdir(parents=True)
        table.append(pa.Table.from_pylist(rows(100 + day, 1), schema=schema_to_pyarrow(SCHEMA)))
        made.append(_back_up(applier))
    listed = [r.backup_id for r in target.records()]
    assert listed == made[1:]  # the oldest removed once the third was verified
    assert [b for b, _ in target.ids()] == made[1:]  # the interrupted one too
    assert [r.rows for r in target.records()] == [22, 23]
    listing = list_backups(
        catalogs, (SPEC,), {"nightly": MaintenancePolicy("nightly", backup=rule)}
    )
    assert [r.backup_id for r in listing[SPEC.address].records] == made[1:]


def test_a_backup_that_cannot_be_written_keeps_the_old_ones(tmp_path: Path) -> None:
    catalogs = Catalogs({"lake": {"warehouse": (tmp_path / "wh").as_uri()}}, state_dir=tmp_path)
    make_table(catalogs.get("lake"), IDENT, batches=1, size=20)
    rule = Backup(target=(tmp_path / "b").as_uri(), keep_last=1)
    applier = _applier(catalogs, rule, [T0])
    first = _back_up(applier)
    with pytest.raises(PermanentError, match="already exists"):
        _back_up(applier)  # same second: refused, the only good backup stays
    assert [r.backup_id for r in target_of(SPEC, rule).records()] == [first]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ).create_bucket(Bucket="backups")
    yield endpoint
    server.stop()


def test_round_trip_on_s3(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BK_AK", "testing")
    monkeypatch.setenv("BK_SK", "testing")
    catalogs = Catalogs({"lake": {"warehouse": (tmp_path / "wh").as_uri()}}, state_dir=tmp_path)
    catalog = catalogs.get("lake")
    table = make_table(catalog, IDENT, batches=2, size=300)
    names = [f.name for f in SCHEMA.fields]
    before = table_checksum(table, names)
    rule = Backup(
        target="s3://backups/lake",
        keep_last=1,
        endpoint=s3_endpoint,
        credentials=BackupCredentials(access_key_id_env="BK_AK", secret_access_key_env="BK_SK"),
    )
    at = [T0]
    applier = _applier(catalogs, rule, at)
    first = _back_up(applier)
    table.delete(LessThan("id", 250))
    at[0] = T0 + timedelta(days=1)
    second = _back_up(applier)  # keepLast 1: the first is removed
    target = target_of(SPEC, rule)
    assert [r.backup_id for r in target.records()] == [second]
    assert target.records()[0].location == f"s3://backups/lake/lake/sales/orders/{second}"
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="backups")["Contents"]]
    assert not any(first in k for k in keys)
    assert f"lake/lake/sales/orders/{second}/manifest.json" in keys

    catalog.drop_table(IDENT)
    catalog.create_table(IDENT, SCHEMA)
    table = catalog.load_table(IDENT)
    done = restore(catalog, ("sales",), "orders", target, second, in_place=True)
    after = table_checksum(catalog.load_table(IDENT), names)
    assert (after.rows, done.rows) == (350, 350)
    assert after.value == target.manifest(second)["checksum"]["value"] != before.value


def test_an_in_place_restore_streams_in_chunks_and_is_one_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.providers.iceberg import restore as restore_module

    monkeypatch.setattr(restore_module, "BATCH_ROWS", 64)
    monkeypatch.setattr(restore_module, "CHUNK_ROWS", 300)
    catalogs = Catalogs({"lake": {"warehouse": (tmp_path / "wh").as_uri()}}, state_dir=tmp_path)
    catalog = catalogs.get("lake")
    table = make_table(catalog, IDENT, batches=2, size=500)
    names = [f.name for f in SCHEMA.fields]
    before = table_checksum(table, names)
    target = target_of(SPEC, Backup(target=(tmp_path / "b").as_uri()))
    made = export(table, "lake.sales.orders", target, T0, rows_per_file=400)
    table.delete(LessThan("id", 10))
    snapshots = len(catalog.load_table(IDENT).snapshots())
    restore(catalog, ("sales",), "orders", target, made.backup_id, in_place=True)
    table = catalog.load_table(IDENT)
    assert len(table.snapshots()) == snapshots + 2  # the delete and one append
    added = table.current_snapshot()
    assert added is not None and added.summary is not None
    assert int(added.summary["added-data-files"]) >= 4  # 1000 rows written 300 at a time
    after = table_checksum(table, names)
    assert (after.rows, after.value) == (1000, before.value)
