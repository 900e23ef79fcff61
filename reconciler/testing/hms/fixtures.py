"""pytest plugin: `hms_uri`, one metastore per session (`RECONCILER_HMS_URI` or the launcher)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

URI_ENV = "RECONCILER_HMS_URI"
REQUIRE_ENV = "RECONCILER_REQUIRE_HMS"


def _missing() -> str | None:
    for tool in ("mariadbd", "mariadb-install-db", "java"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} not found (Debian: mariadb-server, openjdk-17-jre-headless)"
    if not Path("/usr/share/java/mariadb-java-client.jar").exists():
        return "MariaDB JDBC jar missing (Debian: libmariadb-java)"
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"a Hive Metastore is required ({REQUIRE_ENV}) but {reason}")
    pytest.skip(f"no Hive Metastore: {reason}")


@pytest.fixture(scope="session")
def hms_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A thrift URI: the given metastore, else one launched for the whole session."""
    given = os.environ.get(URI_ENV)
    if given:
        yield given
        return
    reason = _missing()
    if reason:
        _unavailable(reason)
    state = tmp_path_factory.mktemp("hms")
    began = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler.testing.hms", "--port", "0", "--state", str(state)],
        stdout=subprocess.PIPE,
        stderr=(state / "launcher.log").open("wb"),
        text=True,
    )
    assert proc.stdout is not None
    uri = proc.stdout.readline().strip()
    if not uri.startswith("thrift://"):
        proc.wait(30)
        _unavailable(f"the launcher failed: {(state / 'launcher.log').read_text()[-2000:]}")
    print(f"\nhms: {uri} started in {time.monotonic() - began:.1f} s", file=sys.stderr)
    try:
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
