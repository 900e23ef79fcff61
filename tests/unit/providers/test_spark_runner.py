"""Spark runner hygiene (bounded job logs, allow-listed environment) and what spark-submit is
told to resolve: packages, repositories, the Ivy cache, jars; the config keys behind them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path, PurePath

import pytest

from reconciler.plan.maintenance_ops import CallProcedure
from reconciler.providers.spark.jobs import catalog_conf, maven_path, packages, submit_argv
from reconciler.providers.spark.procedures import procedure_call
from reconciler.providers.spark.runner import prune_logs
from reconciler.settings import SparkSettings
from reconciler.sources.config import ConfigError, load_settings


def test_only_the_newest_logs_of_that_table_are_kept(tmp_path: Path) -> None:
    for day in range(1, 6):
        (tmp_path / f"2026110{day}T020000-lake.sales.orders.log").write_text("x")
    (tmp_path / "20260101T020000-lake.raw.events.log").write_text("other table")
    prune_logs(tmp_path, "lake.sales.orders", keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "20260101T020000-lake.raw.events.log",
        "20261104T020000-lake.sales.orders.log",
        "20261105T020000-lake.sales.orders.log",
    ]


def test_the_spark_job_never_inherits_api_tokens() -> None:
    from reconciler.providers.spark.runner import job_env

    env = job_env(
        {
            "PATH": "/usr/bin",
            "HOME": "/var/lib/reconciler",
            "PVE_TOKEN_SECRET": "s3cr3t",
            "WEBHOOK_SECRET": "w",
            "GITEA_TOKEN": "g",
            "SPARK_HOME": "/opt/spark",
            "LC_ALL": "C.UTF-8",
            "JAVA_HOME": "/usr/lib/jvm/java-17",
        }
    )
    assert not {"PVE_TOKEN_SECRET", "WEBHOOK_SECRET", "GITEA_TOKEN"} & env.keys()
    assert env["SPARK_HOME"] == "/opt/spark" and env["LC_ALL"] == "C.UTF-8"
    assert env["PATH"].endswith("/usr/bin") and env["SPARK_LOCAL_IP"] == "127.0.0.1"


def test_the_spark_job_is_a_classic_driver_after_a_connect_run_in_this_process() -> None:
    """pyspark leaves these in os.environ once a Connect session opened; kept, the job's own
    SparkSession would look for a Connect server (CONNECT_URL_NOT_SET)."""
    from reconciler.providers.spark.runner import job_env

    env = job_env(
        {
            "PATH": "/usr/bin",
            "SPARK_HOME": "/opt/spark",
            "SPARK_CONNECT_MODE_ENABLED": "1",
            "SPARK_REMOTE": "sc://127.0.0.1:15002",
        }
    )
    assert not {"SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE"} & env.keys()
    assert env["SPARK_HOME"] == "/opt/spark"


# --- Packages, repositories and the Ivy cache: what spark-submit is told to resolve ---

RUNTIME = "org.apache.iceberg:iceberg-spark-runtime-4.0_2.13:1.10.0"
S3_PROPS = {
    "uri": "sqlite:////var/lib/r/lake.db",
    "warehouse": "s3://lake/wh",
    "s3.endpoint": "http://minio:9000",
    "s3.region": "eu-central-1",
    "s3.path-style-access": "true",
    "s3.access-key-id": "AKIA-TEST",
    "s3.secret-access-key": "very-secret",
}


def _argv(settings: SparkSettings, props: dict[str, str] | None = None) -> list[str]:
    conf = catalog_conf("lake", props or {"uri": "sqlite:////r/lake.db", "warehouse": "file:///w"})
    return submit_argv(
        "spark-submit", settings, conf, "/job_main.py", "/s/job.json", "m", ivy_dir="/s/ivy"
    )


def _flag(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_default_is_the_iceberg_runtime_package_with_the_ivy_cache_in_the_state_dir() -> None:
    argv = _argv(SparkSettings())
    assert _flag(argv, "--packages") == RUNTIME
    assert "spark.jars.ivy=/s/ivy" in argv
    assert _flag(argv, "--repositories") is None
    assert _flag(argv, "--jars") == "/usr/share/java/sqlite-jdbc.jar"  # the catalog's driver


def test_an_s3_warehouse_adds_the_aws_bundle_of_the_runtime_version() -> None:
    argv = _argv(SparkSettings(repositories=("file:///m2",)), S3_PROPS)
    assert _flag(argv, "--packages") == f"{RUNTIME},org.apache.iceberg:iceberg-aws-bundle:1.10.0"
    assert _flag(argv, "--repositories") == "file:///m2"
    spark35 = "org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.10.0"
    argv = _argv(SparkSettings(packages=(spark35,)), S3_PROPS)
    assert _flag(argv, "--packages") == f"{spark35},org.apache.iceberg:iceberg-aws-bundle:1.10.0"
    # S3 settings reach S3FileIO (region under Iceberg Java's name), keys never the argv.
    assert "spark.sql.catalog.lake.io-impl=org.apache.iceberg.aws.s3.S3FileIO" in argv
    assert "spark.sql.catalog.lake.client.region=eu-central-1" in argv
    assert "spark.sql.catalog.lake.s3.path-style-access=true" in argv
    assert not any("very-secret" in a or "AKIA-TEST" in a for a in argv)


def test_jars_alone_mean_no_packages_for_air_gapped_hosts() -> None:
    argv = _argv(SparkSettings(jars=("/opt/iceberg-runtime.jar", "/opt/aws.jar")), S3_PROPS)
    assert "--packages" not in argv and not any(a.startswith("spark.jars.ivy=") for a in argv)
    assert _flag(argv, "--jars") == (
        "/usr/share/java/sqlite-jdbc.jar,/opt/iceberg-runtime.jar,/opt/aws.jar"
    )
    both = _argv(SparkSettings(jars=("/opt/x.jar",), packages=(RUNTIME,)))
    assert _flag(both, "--packages") == RUNTIME and _flag(both, "--jars") is not None


def test_a_listed_aws_bundle_or_an_explicit_empty_list_is_kept_as_given() -> None:
    mine = (RUNTIME, "org.apache.iceberg:iceberg-aws-bundle:1.9.2")
    assert packages(SparkSettings(packages=mine), catalog_conf("lake", S3_PROPS)) == mine
    assert packages(SparkSettings(packages=()), catalog_conf("lake", S3_PROPS)) == ()


def test_user_conf_overrides_the_ivy_dir() -> None:
    argv = _argv(SparkSettings(conf=(("spark.jars.ivy", "/srv/ivy"),)))
    assert "spark.jars.ivy=/srv/ivy" in argv and "spark.jars.ivy=/s/ivy" not in argv


def test_orphan_removal_lists_through_the_file_io_on_s3() -> None:
    orphans = CallProcedure("remove_orphan_files", (("dry_run", False),), (), 86400)
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert (
        "prefix_listing => true"
        in procedure_call("lake", ("a", "b"), orphans, now, prefix_listing=True).sql
    )
    assert "prefix_listing" not in procedure_call("lake", ("a", "b"), orphans, now).sql
    assert (
        catalog_conf("lake", S3_PROPS).s3
        and not catalog_conf("lake", {"uri": "sqlite:////x.db"}).s3
    )


def test_maven_path_is_where_mvn_dependency_get_puts_a_jar() -> None:
    assert str(maven_path(RUNTIME, PurePath("/root/.m2/repository"))) == (
        "/root/.m2/repository/org/apache/iceberg/iceberg-spark-runtime-4.0_2.13/1.10.0/"
        "iceberg-spark-runtime-4.0_2.13-1.10.0.jar"
    )


def _config(tmp_path: Path, spark: str) -> Path:
    path = tmp_path / "reconciler.yaml"
    path.write_text(f"state_dir: state\nspark:\n{spark}")
    return path


def test_config_keys_packages_repositories_and_relative_jars(tmp_path: Path) -> None:
    settings = load_settings(
        _config(
            tmp_path,
            f"  packages: [{RUNTIME}]\n"
            "  repositories: [file:///root/.m2/repository, https://repo.example/maven2]\n"
            "  jars: [jars/extra.jar, hdfs://nn/x.jar]\n",
        )
    )
    assert settings.spark.packages == (RUNTIME,)
    assert settings.spark.repositories == (
        "file:///root/.m2/repository",
        "https://repo.example/maven2",
    )
    assert settings.spark.jars == (str(tmp_path / "jars" / "extra.jar"), "hdfs://nn/x.jar")
    assert load_settings(_config(tmp_path, "  master: local[1]\n")).spark.packages is None


def test_bad_spark_keys_are_all_reported_with_their_lines(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            _config(
                tmp_path,
                "  packages: [iceberg-spark-runtime.jar]\n"
                "  repositories: [repo.example/maven2, 'https://u:pw@repo.example/m2']\n"
                "  conf: {spark.jars.packages: x}\n",
            )
        )
    text = str(caught.value)
    assert "spark.packages[0]" in text or "packages" in text
    lines = text.splitlines()
    assert any(
        ":3:" in ln and "is not a Maven coordinate group:artifact:version" in ln for ln in lines
    )
    assert any(":4:" in ln and "is not a repository URL" in ln for ln in lines)
    assert any("credentials in a repository URL" in ln for ln in lines)
    assert any("set spark.packages instead" in ln for ln in lines)
    assert "pw@" not in text
    assert len(caught.value.errors) == 4


def test_local_masters_shuffle_into_two_partitions_per_core() -> None:
    assert "spark.sql.shuffle.partitions=4" in _argv(SparkSettings(master="local[2]"))
    assert "spark.sql.shuffle.partitions=2" in _argv(SparkSettings(master="local"))
    for master in ("local[*]", "spark://spark:7077"):
        assert not any("shuffle.partitions" in a for a in _argv(SparkSettings(master=master)))
    mine = SparkSettings(conf=(("spark.sql.shuffle.partitions", "64"),))
    assert "spark.sql.shuffle.partitions=64" in _argv(mine)
    assert "spark.sql.shuffle.partitions=4" not in _argv(mine)
