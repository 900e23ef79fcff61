"""What the Spark tests need, found where .ci/jars puts it (the local Maven repository).

Missing pieces skip a test with the reason, except in CI (RECONCILER_REQUIRE_SPARK set),
where they fail it: CI never skips Spark.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.providers.spark.jobs import AWS_BUNDLE, ICEBERG_VERSION, RUNTIME_PACKAGE, maven_path

M2_REPOSITORY = Path(os.environ.get("M2_REPO", Path.home() / ".m2" / "repository"))
AWS_PACKAGE = f"{AWS_BUNDLE}:{ICEBERG_VERSION}"
SQLITE_JDBC = Path("/usr/share/java/sqlite-jdbc.jar")
# Proves a job resolves its packages without Maven Central: Ivy (in the spark-submit JVM)
# would have to pass this dead proxy. Loopback (the S3 stand-in) stays direct.
NO_NETWORK_OPTS = (
    "-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=9 -Dhttps.proxyHost=127.0.0.1 "
    "-Dhttps.proxyPort=9 -Dhttp.nonProxyHosts=127.0.0.1|localhost"
)


def missing(reason: str) -> None:
    """Skip, or fail in CI."""
    if os.environ.get("RECONCILER_REQUIRE_SPARK"):
        pytest.fail(f"{reason} (RECONCILER_REQUIRE_SPARK is set: CI never skips Spark)")
    pytest.skip(reason)


def local_jars(*coordinates: str) -> tuple[str, ...]:
    """The jars of `coordinates` in the local Maven repository (default: the Iceberg runtime),
    with the SQLite JDBC driver checked too."""
    if not SQLITE_JDBC.is_file():
        missing(f"{SQLITE_JDBC} missing: apt-get install libxerial-sqlite-jdbc-java")
    found: list[str] = []
    for coordinate in coordinates or (RUNTIME_PACKAGE,):
        path = Path(maven_path(coordinate, M2_REPOSITORY))
        if not path.is_file():
            missing(f"{path} missing: run .ci/jars (mvn dependency:get -Dartifact={coordinate})")
        found.append(str(path))
    return tuple(found)
