"""No catalog or Spark conf secret on the spark-submit argv (issue 14: `client.*`, `header.*`
and literal spark.conf secrets were visible in `ps`): they travel in the 0600 job file. A real
subprocess stands in for spark-submit and records what it was given."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from reconciler.plan.change import Action
from reconciler.providers.spark.jobs import JobError, catalog_conf, submit_argv
from reconciler.providers.spark.procedures import ProcedureCall
from reconciler.providers.spark.runner import run_table_job
from reconciler.settings import SparkSettings
from reconciler.sources.config import ConfigError, load_settings

SECRETS = ("hdr-s3cr3t", "client-s3cr3t", "sess-s3cr3t", "conf-s3cr3t", "AKIA-s3cr3t")
PROPS = {
    "type": "rest",
    "uri": "https://catalog.local/api",
    "warehouse": "s3://lake/wh",
    "header.Authorization": f"token {SECRETS[0]}",
    "header.X-Iceberg-Access-Delegation": "vended-credentials",
    "client.secret-access-key": SECRETS[1],
    "client.session-token": SECRETS[2],
    "s3.access-key-id": SECRETS[4],
    "client.region": "eu-central-1",
}
RECORDER = """\
import json, sys
argv = sys.argv[1:]
job = json.load(open(argv[-1]))
json.dump({"argv": argv, "job": job}, open(sys.argv[0] + ".seen.json", "w"))
"""


def _recorder(tmp_path: Path) -> Path:
    script = tmp_path / "spark-submit"
    body = tmp_path / "recorder.py"
    body.write_text(RECORDER)
    script.write_text(f'#!/bin/sh\nexec {sys.executable} {body} "$@"\n')
    script.chmod(0o755)
    return body


def test_catalog_and_conf_secrets_go_in_the_0600_job_file_never_on_argv(tmp_path: Path) -> None:
    body = _recorder(tmp_path)
    settings = SparkSettings(
        submit=str(tmp_path / "spark-submit"),
        conf=(
            ("spark.driver.memory", "2g"),
            ("spark.hadoop.fs.s3a.secret.key_env", "S3A_SECRET"),
        ),
        timeout=30,
    )
    calls = [ProcedureCall(Action.REWRITE_MANIFESTS, "CALL lake.system.rewrite_manifests('t')")]
    run_table_job(
        settings,
        catalog_conf("lake", PROPS),
        calls,
        state_dir=tmp_path / "state",
        app_name="lake.ns.t",
        env={"PATH": os.environ["PATH"], "S3A_SECRET": SECRETS[3]},
    )
    seen = json.loads(Path(str(body) + ".seen.json").read_text())
    argv = " ".join(seen["argv"])
    assert not [s for s in SECRETS if s in argv], argv
    assert "spark.driver.memory=2g" in argv
    assert "spark.sql.catalog.lake.client.region=eu-central-1" in argv
    secret_conf = seen["job"]["secret_conf"]
    assert secret_conf["spark.sql.catalog.lake.header.Authorization"] == f"token {SECRETS[0]}"
    assert secret_conf["spark.sql.catalog.lake.client.secret-access-key"] == SECRETS[1]
    assert secret_conf["spark.sql.catalog.lake.client.session-token"] == SECRETS[2]
    assert secret_conf["spark.hadoop.fs.s3a.secret.key"] == SECRETS[3]
    jobs = list((tmp_path / "state" / "spark").glob("job-*.json"))
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in jobs)


def test_a_literal_secret_in_spark_conf_never_reaches_argv() -> None:
    settings = SparkSettings(conf=(("spark.hadoop.fs.s3a.secret.key", "literal"),))
    with pytest.raises(JobError, match="looks like a secret"):
        submit_argv("spark-submit", settings, catalog_conf("lake", PROPS), "/m.py", "/j", "a")


def test_the_config_refuses_a_literal_spark_conf_secret(tmp_path: Path) -> None:
    config = tmp_path / "reconciler.yaml"
    config.write_text("spark:\n  conf:\n    spark.hadoop.fs.s3a.secret.key: literal\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert (
        "reconciler.yaml:3: spark.conf['spark.hadoop.fs.s3a.secret.key']: looks like a secret"
        in str(caught.value)
    )
