"""Catalog configuration: `_env` secrets, masking, and an s3:// warehouse on moto_server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pyarrow as pa
import pytest
from moto.server import ThreadedMotoServer
from table_helpers import ORDERS, converge, plan, table_spec

from reconciler.plan.change import Action
from reconciler.providers.iceberg.catalog import (
    CatalogConfigError,
    Catalogs,
    build_catalog,
    mask,
    resolve_properties,
)


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
    ).create_bucket(Bucket="warehouse")
    yield endpoint
    server.stop()


def test_env_properties_are_resolved_and_missing_vars_named(tmp_path: Path) -> None:
    props, secrets = resolve_properties(
        "lake",
        {"s3.secret-access-key_env": "LAKE_S3_SECRET", "uri": "sqlite:///:memory:"},
        {"LAKE_S3_SECRET": "hunter2"},
        tmp_path,
    )
    assert props["s3.secret-access-key"] == "hunter2"
    assert "s3.secret-access-key_env" not in props
    assert secrets == ("hunter2",)
    with pytest.raises(CatalogConfigError, match=r"LAKE_S3_SECRET.*not set"):
        resolve_properties("lake", {"s3.secret-access-key_env": "LAKE_S3_SECRET"}, {}, tmp_path)


def test_errors_mask_credentials(tmp_path: Path) -> None:
    assert mask("postgresql://u:pw123@h/db failed", ()) == "postgresql://u:***@h/db failed"
    with pytest.raises(CatalogConfigError) as info:
        build_catalog(
            "lake",
            {"uri_env": "BAD_PG_URI", "warehouse": tmp_path.as_uri()},
            {"BAD_PG_URI": "postgresql+psycopg2://iceberg:s3cr3t-pw@127.0.0.1:1/nodb"},
        )
    assert "s3cr3t-pw" not in str(info.value)
    assert "lake" in str(info.value)


def test_embedded_default_is_sqlite_under_state_dir(tmp_path: Path) -> None:
    cats = Catalogs({"lake": {}}, state_dir=tmp_path)
    cats.get("lake").create_namespace("ns")
    assert (tmp_path / "iceberg" / "lake.db").is_file()
    assert (tmp_path / "iceberg" / "warehouse").is_dir()


def test_s3_warehouse_on_moto(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKE_S3_KEY", "testing")
    monkeypatch.setenv("LAKE_S3_SECRET", "testing")
    config = {
        "warehouse": "s3://warehouse/lake",
        "s3.endpoint": s3_endpoint,
        "s3.region": "us-east-1",
        "s3.path-style-access": "true",
        "s3.access-key-id_env": "LAKE_S3_KEY",
        "s3.secret-access-key_env": "LAKE_S3_SECRET",
    }
    cats = Catalogs({"lake": config}, state_dir=tmp_path)
    spec = table_spec(ORDERS)
    changes = plan(cats, (spec,))
    assert [c.action for c in changes] == [Action.CREATE]
    assert "testing" not in repr(changes)
    converge(cats, (spec,))
    table = cats.get("lake").load_table("shop.orders")
    assert table.metadata.location.startswith("s3://warehouse/lake/")
    table.append(
        pa.Table.from_pylist(
            [{"order_id": 1, "ts": __import__("datetime").datetime(2024, 1, 1)}],
            schema=table.schema().as_arrow(),
        )
    )
    assert cats.get("lake").load_table("shop.orders").scan().to_arrow().num_rows == 1
    listed = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ).list_objects_v2(Bucket="warehouse", Prefix="lake/")
    assert any(o["Key"].endswith(".parquet") for o in listed.get("Contents", []))
