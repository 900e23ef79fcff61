"""Spark runner hygiene: bounded job logs per table, and an allow-listed job environment."""

from __future__ import annotations

from pathlib import Path

from reconciler.providers.spark.runner import prune_logs


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
