"""spark.packages resolve once through spark.repositories into the state dir's Ivy cache;
later runs need neither the repository nor the network (a dead proxy stands in for
"offline", an empty user.home hides ~/.m2 from Ivy's default resolvers)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.providers.spark.jobs import RUNTIME_PACKAGE, catalog_conf, maven_path, submit_argv
from reconciler.providers.spark.runner import job_env
from reconciler.settings import SparkSettings
from tests.integration.spark.spark_env import (
    AWS_PACKAGE,
    M2_REPOSITORY,
    NO_NETWORK_OPTS,
    local_jars,
)

pytestmark = pytest.mark.spark
# spark-submit resolves --packages before it runs the script; this one needs no SparkContext.
NOOP = "print('RESOLVED')\n"


def _submit(tmp_path: Path, settings: SparkSettings) -> subprocess.CompletedProcess[str]:
    conf = catalog_conf("lake", {"uri": f"sqlite:///{tmp_path}/c.db", "warehouse": "s3://b/w"})
    argv = submit_argv(
        str(Path(sys.executable).parent / "spark-submit"),
        settings,
        conf,
        str(tmp_path / "noop.py"),
        "unused",
        "resolve",
        ivy_dir=str(tmp_path / "state" / "spark" / "ivy"),
    )
    env = job_env(os.environ)
    env["SPARK_SUBMIT_OPTS"] = f"{NO_NETWORK_OPTS} -Duser.home={tmp_path / 'home'}"
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, check=False)


def test_packages_resolve_through_the_repository_then_from_the_ivy_cache(tmp_path: Path) -> None:
    local_jars(RUNTIME_PACKAGE, AWS_PACKAGE)
    repo = tmp_path / "repo"
    for coordinate in (RUNTIME_PACKAGE, AWS_PACKAGE):  # a repository of exactly these two
        jar = Path(maven_path(coordinate, M2_REPOSITORY))
        target = repo / jar.parent.relative_to(M2_REPOSITORY)
        target.mkdir(parents=True)
        for source in (jar, jar.with_suffix(".pom")):
            (target / source.name).symlink_to(source)
    (tmp_path / "home").mkdir()
    (tmp_path / "noop.py").write_text(NOOP)
    settings = SparkSettings(master="local[1]", repositories=(repo.as_uri(),))

    first = _submit(tmp_path, settings)
    assert first.returncode == 0 and "RESOLVED" in first.stdout, first.stderr[-3000:]
    assert "found org.apache.iceberg#iceberg-aws-bundle;1.10.0 in repo-1" in first.stderr
    cached = tmp_path / "state" / "spark" / "ivy" / "jars"
    assert sorted(p.name for p in cached.iterdir()) == [
        "org.apache.iceberg_iceberg-aws-bundle-1.10.0.jar",
        "org.apache.iceberg_iceberg-spark-runtime-4.0_2.13-1.10.0.jar",
    ]

    shutil.rmtree(repo)  # the repository is gone, and there is no network
    again = _submit(tmp_path, settings)
    assert again.returncode == 0 and "RESOLVED" in again.stdout, again.stderr[-3000:]
