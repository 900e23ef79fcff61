"""An s3:// warehouse end to end: moto's S3 server stands in for MinIO (path-style, endpoint
URL, keys only by env reference in the config); pyiceberg writes, Spark maintains through
Iceberg's S3FileIO with the packages resolved from the local Maven repository (no network),
orphan files removed on s3:// (old ones, young ones kept)."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer

from reconciler.engine import RunOptions, apply_plan, make_full_plan
from reconciler.plan.change import Action
from reconciler.plan.maintenance_ops import expand_all
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.report.outcome import Status, per_call
from reconciler.sources.config import load_settings
from reconciler.sources.validate import load_desired
from reconciler.wiring import build_deps
from tests.integration.spark.spark_env import (
    AWS_PACKAGE,
    M2_REPOSITORY,
    NO_NETWORK_OPTS,
    local_jars,
)

pytestmark = pytest.mark.spark
BUCKET = "warehouse"
KEY, SECRET = "lake-test-key", "lake-test-secret-4711"
APPENDS = 6
SPECS = {
    "policies/s3.yaml": """apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata: {name: s3}
spec:
  compaction: {smallFileSize: 16MiB, minSmallFiles: 5}
  rewriteManifests: {minManifests: 5}
  removeOrphanFiles: {olderThan: 1d}
""",
    "tables/events.yaml": """apiVersion: reconciler/v1
kind: Table
metadata: {name: s3-events}
spec:
  catalog: lake
  namespace: raw
  name: events
  schema:
    - {name: id, type: long, required: true}
    - {name: payload, type: string}
  properties:
    write.parquet.compression-codec: zstd
  policy: s3
""",
}
ARROW = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("payload", pa.string())])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def s3() -> Iterator[Any]:
    """moto's S3 server on loopback with an empty bucket; yields a boto3 client."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    try:
        yield client
    finally:
        server.stop()


def _backdate(key: str, days: int) -> None:
    """S3 has no utime: age an object in moto's own store."""
    backends = s3_backends[DEFAULT_ACCOUNT_ID]
    bucket = backends["aws" if "aws" in backends else "global"].buckets[BUCKET]
    obj = bucket.keys.get(key)
    obj.last_modified = obj.last_modified - timedelta(days=days)


def test_spark_maintains_an_s3_warehouse_through_s3fileio(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_jars(AWS_PACKAGE)  # both packages in the local Maven repository (skip/fail if not)
    endpoint = s3.meta.endpoint_url
    monkeypatch.setenv("LAKE_S3_KEY", KEY)
    monkeypatch.setenv("LAKE_S3_SECRET", SECRET)
    # Ivy may use only spark.repositories: no Maven Central, no ~/.m2 of its own.
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("SPARK_SUBMIT_OPTS", f"{NO_NETWORK_OPTS} -Duser.home={tmp_path / 'home'}")
    for name, text in SPECS.items():
        (tmp_path / "specs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "specs" / name).write_text(text)
    config = tmp_path / "reconciler.yaml"
    config.write_text(
        f"""specs: specs
state_dir: state
catalogs:
  lake:
    type: sql
    uri: sqlite:///{tmp_path / "catalog.db"}
    warehouse: s3://{BUCKET}/lake
    s3.endpoint: {endpoint}
    s3.region: us-east-1
    s3.path-style-access: true
    s3.access-key-id_env: LAKE_S3_KEY
    s3.secret-access-key_env: LAKE_S3_SECRET
spark:
  master: local[2]
  repositories: ["{M2_REPOSITORY.as_uri()}"]
  conf: {{spark.driver.memory: 1g}}
  timeout: 900
"""
    )
    settings = load_settings(config)
    assert settings.spark.packages is None and settings.spark.jars == ()  # the defaults
    loaded = load_desired(settings.specs)
    assert loaded.desired is not None, loaded.errors
    desired = loaded.desired
    deps = replace(build_deps(settings), observe_containers=None)
    created = apply_plan(
        settings, make_full_plan(settings, desired, RunOptions(apply=True), deps),
        RunOptions(apply=True), deps,
    )  # fmt: skip
    assert [o.status for o in created.outcomes] == [Status.APPLIED], created.outcomes

    catalogs = Catalogs({n: dict(p) for n, p in settings.catalogs}, state_dir=settings.state_dir)
    table = catalogs.get("lake").load_table(("raw", "events"))
    assert table.location().startswith(f"s3://{BUCKET}/lake/")
    for i in range(APPENDS):
        table.append(pa.Table.from_pylist([{"id": i, "payload": f"p{i}"}], schema=ARROW))
    data = table.location().removeprefix(f"s3://{BUCKET}/") + "/data"
    s3.put_object(Bucket=BUCKET, Key=f"{data}/orphan-old.parquet", Body=b"failed write")
    s3.put_object(Bucket=BUCKET, Key=f"{data}/orphan-young.parquet", Body=b"write in progress")
    _backdate(f"{data}/orphan-old.parquet", days=2)

    def rows() -> tuple[int, str]:
        got = catalogs.get("lake").load_table(("raw", "events")).scan().to_arrow().to_pylist()
        ordered = sorted(got, key=lambda r: r["id"])
        return len(ordered), hashlib.sha256(json.dumps(ordered).encode()).hexdigest()

    before = rows()
    maintain = RunOptions(apply=True, maintenance_only=True, ignore_window=True)
    planned = make_full_plan(settings, desired, maintain, deps)
    assert [c.action for c in planned.plan.changes] == [Action.MAINTAIN], planned.notes
    assert [c.action for c in expand_all(planned.plan.changes)] == [
        Action.REWRITE_DATA_FILES,
        Action.REWRITE_MANIFESTS,
        Action.REMOVE_ORPHAN_FILES,
    ], planned.notes
    started = datetime.now(UTC)
    report = apply_plan(settings, planned, maintain, deps)
    seconds = (datetime.now(UTC) - started).total_seconds()

    assert len(report.outcomes) == 1  # the table's maintain line
    calls = per_call(report.outcomes[0])
    results = [(o.action.value, o.status, o.message) for o in calls]
    assert [o.status for o in calls] == [Status.APPLIED] * 3, results
    outcomes = {o.action: dict(o.result) for o in calls}
    assert outcomes[Action.REWRITE_DATA_FILES]["rewritten_data_files_count"] == APPENDS
    assert outcomes[Action.REWRITE_DATA_FILES]["added_data_files_count"] == 1
    assert outcomes[Action.REMOVE_ORPHAN_FILES]["orphan_files"] == [
        f"s3://{BUCKET}/{data}/orphan-old.parquet"
    ]
    assert rows() == before
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=data)["Contents"]}
    assert f"{data}/orphan-old.parquet" not in keys and f"{data}/orphan-young.parquet" in keys
    # The packages came through spark.repositories into the state dir's Ivy cache.
    ivy_jars = {p.name for p in (settings.state_dir / "spark" / "ivy" / "jars").iterdir()}
    assert ivy_jars == {
        "org.apache.iceberg_iceberg-spark-runtime-4.0_2.13-1.10.0.jar",
        "org.apache.iceberg_iceberg-aws-bundle-1.10.0.jar",
    }
    log_text = Path(str(outcomes[Action.REWRITE_DATA_FILES]["log_file"])).read_text()
    assert "from repo-1" in log_text or "in repo-1" in log_text  # spark.repositories, first
    assert SECRET not in log_text
    print(f"S3 maintenance job: {seconds:.1f}s")
