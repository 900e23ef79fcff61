"""Pure Spark job builders: catalog conf per back-end, CALL statements, spark-submit argv."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler.plan.change import Action, Change
from reconciler.plan.maintenance_ops import CallProcedure, expand_all
from reconciler.plan.operations import OperationDecodeError, decode_operations
from reconciler.providers.spark.jobs import JobError, catalog_conf, submit_argv
from reconciler.providers.spark.procedures import procedure_call, sql_string
from reconciler.settings import SparkSettings

PG = {
    "uri": "postgresql+psycopg2://iceberg:s%40cret@db.local:5433/lake",
    "warehouse": "file:///srv/wh",
}


def test_sqlite_catalog_conf() -> None:
    conf = catalog_conf("lake", {"uri": "sqlite:////var/lib/r/lake.db", "warehouse": "file:///w"})
    values = dict(conf.conf)
    assert values["spark.sql.catalog.lake"] == "org.apache.iceberg.spark.SparkCatalog"
    assert values["spark.sql.catalog.lake.uri"] == "jdbc:sqlite:/var/lib/r/lake.db"
    assert values["spark.sql.catalog.lake.jdbc.init-catalog-tables"] == "false"
    assert values["spark.sql.catalog.lake.cache-enabled"] == "false"
    assert conf.jars == ("/usr/share/java/sqlite-jdbc.jar",) and conf.secrets == ()


def test_postgres_password_is_a_secret_never_on_the_command_line() -> None:
    conf = catalog_conf("lake", PG)
    assert dict(conf.conf)["spark.sql.catalog.lake.uri"] == "jdbc:postgresql://db.local:5433/lake"
    assert dict(conf.conf)["spark.sql.catalog.lake.jdbc.user"] == "iceberg"
    assert conf.secrets == (("spark.sql.catalog.lake.jdbc.password", "s@cret"),)
    argv = submit_argv(
        "spark-submit",
        SparkSettings(master="spark://spark:7077", jars=("/x.jar",), conf=(("a.b", "c"),)),
        conf,
        "/job_main.py",
        "/state/job.json",
        "maintain-x",
    )
    assert not any("s@cret" in arg or "s%40cret" in arg for arg in argv)
    assert argv[argv.index("--master") + 1] == "spark://spark:7077"
    assert argv[argv.index("--jars") + 1] == "/usr/share/java/postgresql.jar,/x.jar"
    assert "a.b=c" in argv and "spark.ui.enabled=false" in argv
    assert argv[-2:] == ["/job_main.py", "/state/job.json"]


def test_driver_runs_the_throughput_collector_unless_spark_conf_says_otherwise() -> None:
    conf = catalog_conf("lake", {"uri": "sqlite:////l.db", "warehouse": "file:///w"})
    argv = submit_argv("spark-submit", SparkSettings(), conf, "/m.py", "/j", "a")
    assert "spark.driver.extraJavaOptions=-XX:+UseParallelGC" in argv
    own = SparkSettings(conf=(("spark.driver.extraJavaOptions", "-XX:+UseG1GC"),))
    argv = submit_argv("spark-submit", own, conf, "/m.py", "/j", "a")
    options = [a for a in argv if a.startswith("spark.driver.extraJavaOptions=")]
    assert options == ["spark.driver.extraJavaOptions=-XX:+UseG1GC"]


def test_hive_and_rest() -> None:
    assert (
        dict(catalog_conf("h", {"uri": "thrift://hive:9083"}).conf)["spark.sql.catalog.h.type"]
        == "hive"
    )
    rest = catalog_conf("r", {"uri": "https://cat", "credential": "id:key"})
    assert dict(rest.conf)["spark.sql.catalog.r.type"] == "rest"
    assert rest.secrets == (("spark.sql.catalog.r.credential", "id:key"),)


def test_procedure_calls_from_operations() -> None:
    rewrite = CallProcedure(
        "rewrite_data_files",
        (("strategy", "binpack"), ("where", "region = 'eu'")),
        (("target-file-size-bytes", "134217728"),),
    )
    now = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    assert procedure_call("lake", ("sales", "orders"), rewrite, now).sql == (
        "CALL `lake`.system.rewrite_data_files(table => '`sales`.`orders`', strategy => 'binpack',"
        " where => 'region = \\'eu\\'', options => map('target-file-size-bytes', '134217728'))"
    )
    expire = CallProcedure("expire_snapshots", (("retain_last", 10),), older_than_seconds=7 * 86400)
    # The cutoff is computed when the job is built: `now` minus the planned age.
    assert procedure_call("lake", ("sales", "orders"), expire, now).sql.endswith(
        "older_than => TIMESTAMP '2025-03-03 12:00:00+00:00', retain_last => 10)"
    )
    later = now + timedelta(hours=1)
    assert "'2025-03-03 13:00:00+00:00'" in procedure_call("lake", ("x",), expire, later).sql
    with pytest.raises(JobError, match="older_than_seconds"):
        procedure_call("lake", ("x",), CallProcedure("expire_snapshots"), now)
    with pytest.raises(JobError, match="unknown arguments"):
        procedure_call("lake", ("x",), CallProcedure("rewrite_manifests", (("x", 1),)), now)
    with pytest.raises(JobError, match="not a maintenance procedure"):
        procedure_call("lake", ("x",), CallProcedure("deferred"), now)


def test_maintenance_operations_round_trip_and_refuse_strangers() -> None:
    call = CallProcedure(
        "remove_orphan_files", (("dry_run", True),), (), 3 * 86400, pool="standard", pool_size=2
    )
    assert decode_operations([call.to_dict()], "x") == (call,)
    with pytest.raises(OperationDecodeError, match="not a maintenance procedure"):
        decode_operations([{**call.to_dict(), "procedure": "drop_table"}], "x")


def test_sql_string_escapes_backslash_and_quote() -> None:
    assert sql_string("a\\'b") == "'a\\\\\\'b'"


def test_orphan_removal_is_skipped_where_another_table_lives_inside() -> None:
    from reconciler.diff.maintenance import guard_orphan_removal

    outer, inner = "table/lake.sales.orders", "table/lake.x.y"
    lines = (
        Change(outer, Action.REWRITE_DATA_FILES, "small files"),
        Change(outer, Action.REMOVE_ORPHAN_FILES, "due"),
        Change(inner, Action.REMOVE_ORPHAN_FILES, "due"),
    )
    kept, notes = guard_orphan_removal(
        lines,
        {
            outer: "file:///w/sales/orders/",
            inner: "file:///w/sales/orders/archive",
            "table/lake.z.z": "file:///w/sales/ordersx",
        },
    )
    assert [(c.address, c.action) for c in kept] == [
        (outer, Action.MAINTAIN),
        (inner, Action.MAINTAIN),
    ]
    assert [(c.address, c.action) for c in expand_all(kept)] == [
        (outer, Action.REWRITE_DATA_FILES),
        (inner, Action.REMOVE_ORPHAN_FILES),
    ]
    assert notes == (
        (outer, "orphan-file removal skipped: the location also holds table/lake.x.y"),
    )


def test_the_metastore_timeout_bounds_sparks_client_too() -> None:
    props = {"uri": "thrift://hive:9083", "hive.metastore.client.socket.timeout": "20"}
    conf = dict(catalog_conf("h", props).conf)
    assert conf["spark.sql.catalog.h.hadoop.hive.metastore.client.socket.timeout"] == "20s"
    assert not any(k.endswith(".hive.metastore.client.socket.timeout") and ".hadoop." not in k
                   for k in conf)  # fmt: skip
