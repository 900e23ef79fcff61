"""Real Iceberg catalogs for the table tests: SQLite in tmp_path, PostgreSQL 15 on loopback,
a Hive Metastore on MariaDB (`hms_uri`)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from reconciler.model.tables import TableSpec
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.sources.validate import load_desired

PG_URI = "postgresql+psycopg2://iceberg:iceberg@127.0.0.1:5432/iceberg"
SPECS = Path(__file__).resolve().parents[3] / "specs"


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


def _clear_pg_catalog(name: str) -> None:
    """The SQL catalog keys rows by catalog name: start each test from an empty `lake`."""
    engine = sqlalchemy.create_engine(PG_URI)
    with engine.begin() as conn:
        for table in ("iceberg_tables", "iceberg_namespace_properties"):
            if sqlalchemy.inspect(conn).has_table(table):
                conn.execute(
                    sqlalchemy.text(f"DELETE FROM {table} WHERE catalog_name = :n"), {"n": name}
                )
    engine.dispose()


def _clear_hive(uri: str) -> None:
    """HMS keeps one namespace tree for everyone: drop every table and namespace but default."""
    hive = Catalogs({"lake": {"type": "hive", "uri": uri}}).get("lake")
    for (ns,) in hive.list_namespaces():
        for ident in hive.list_tables(ns):
            hive.drop_table(ident)
        if ns != "default":
            hive.drop_namespace(ns)


@pytest.fixture(params=["sqlite", "postgres", "hive"])
def catalogs(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Catalogs]:
    """A `lake` catalog on each back-end, warehouse under tmp_path."""
    warehouse = (tmp_path / "warehouse").as_uri()
    if request.param == "sqlite":
        yield Catalogs({"lake": {"warehouse": warehouse}}, state_dir=tmp_path)
        return
    if request.param == "hive":
        uri = request.getfixturevalue("hms_uri")
        _clear_hive(uri)
        yield Catalogs({"lake": {"type": "hive", "uri": uri, "warehouse": warehouse}}, tmp_path)
        _clear_hive(uri)
        return
    if not _pg_reachable():
        if os.environ.get("RECONCILER_REQUIRE_PG"):
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is required (RECONCILER_REQUIRE_PG) but down")
        pytest.skip("PostgreSQL on 127.0.0.1:5432 unreachable (start: pg_ctlcluster 15 main start)")
    _clear_pg_catalog("lake")
    # The URI (with its password) comes through `_env` indirection, as in production.
    monkeypatch.setenv("TEST_LAKE_PG_URI", PG_URI)
    yield Catalogs({"lake": {"uri_env": "TEST_LAKE_PG_URI", "warehouse": warehouse}}, tmp_path)
    _clear_pg_catalog("lake")


@pytest.fixture(scope="session")
def example_tables() -> tuple[TableSpec, ...]:
    result = load_desired(SPECS)
    assert not result.errors, result.errors
    assert result.desired is not None
    tables: tuple[TableSpec, ...] = result.desired.tables
    assert len(tables) >= 3
    return tables
