"""The Hive Metastore server from pyspark's jars, on a private MariaDB; start, wait, stop."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from reconciler.testing.hms.mariadb import MariaDBError, PrivateMariaDB, free_port, wait_port
from reconciler.testing.hms.schema import hive_site

MARIADB_JDBC = Path("/usr/share/java/mariadb-java-client.jar")
MAIN_CLASS = "org.apache.hadoop.hive.metastore.HiveMetaStore"


class MetastoreError(RuntimeError):
    """The metastore could not start; the message names the log to read."""


def listener_jar(jars: Path, repository: Path | None = None) -> Path | None:
    """The notification listener's jar (hive-hcatalog-server-extensions, fetched from Maven
    Central by .ci/jars) for the metastore version in `jars`; None when absent."""
    found = sorted(jars.glob("hive-metastore-*.jar"))
    if not found:
        return None
    version = found[0].stem.removeprefix("hive-metastore-")
    repository = repository or Path.home() / ".m2" / "repository"
    name = f"hive-hcatalog-server-extensions-{version}.jar"
    jar = repository / "org/apache/hive/hcatalog/hive-hcatalog-server-extensions" / version / name
    return jar if jar.is_file() else None


def pyspark_jars() -> Path:
    """pyspark's `jars/` directory (it ships hive-metastore 2.3 and its dependencies)."""
    import pyspark  # deferred: only the launcher needs pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    if not any(jars.glob("hive-metastore-*.jar")):
        raise MetastoreError(f"no hive-metastore jar in {jars}")
    return jars


@dataclass
class Metastore:
    """A running metastore: `uri` is its thrift address; `stop()` ends it and MariaDB."""

    uri: str
    port: int
    warehouse: str
    state: Path
    started_seconds: float
    notifications: bool
    _hms: subprocess.Popen[bytes] = field(repr=False)
    _db: PrivateMariaDB = field(repr=False)

    def stop(self, timeout: float = 30.0) -> None:
        if self._hms.poll() is None:
            self._hms.terminate()
            try:
                self._hms.wait(timeout)
            except subprocess.TimeoutExpired:
                self._hms.kill()
                self._hms.wait()
        self._db.stop(timeout)

    def __enter__(self) -> Metastore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_metastore(
    state: Path,
    port: int = 0,
    warehouse: str | None = None,
    mariadb_port: int = 0,
    timeout: float = 180.0,
    java: str | None = None,
    notifications: bool = True,
) -> Metastore:
    """MariaDB on `state`/mariadb (created once), then HMS on 127.0.0.1:`port` (0 = free one).
    `notifications` enables the notification log when its listener jar is at hand."""
    began = time.monotonic()
    state = state.resolve()
    state.mkdir(parents=True, exist_ok=True)
    warehouse = warehouse or (state / "warehouse").as_uri()
    if warehouse.startswith("file://"):
        Path(warehouse[len("file://") :]).mkdir(parents=True, exist_ok=True)
    java = java or shutil.which("java")
    if java is None:
        raise MetastoreError("java not found: install openjdk-17-jre-headless")
    if not MARIADB_JDBC.exists():
        raise MetastoreError(f"{MARIADB_JDBC} missing: install the Debian package libmariadb-java")
    db = PrivateMariaDB(state / "mariadb", mariadb_port or free_port())
    db.start()
    try:
        secret_file = state / "db-password"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(18))
            secret_file.chmod(0o600)
        database = db.create_database("hms", "hive", secret_file.read_text().strip())
        conf = state / "conf"
        conf.mkdir(exist_ok=True)
        site = conf / "hive-site.xml"
        jars = pyspark_jars()
        listener = listener_jar(jars) if notifications else None
        site.write_text(
            hive_site(
                database.port,
                database.name,
                database.user,
                database.password,
                warehouse,
                notifications=listener is not None,
            )
        )
        site.chmod(0o600)
        port = port or free_port()
        classpath = f"{conf}:{jars}/*:{MARIADB_JDBC}" + (f":{listener}" if listener else "")
        log = (state / "metastore.log").open("ab")
        hms = subprocess.Popen(
            [
                java,
                "-Xmx512m",
                f"-Dhive.log.dir={state}",
                "-cp",
                classpath,
                MAIN_CLASS,
                "-p",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=state,
        )
        try:
            wait_port(port, timeout, hms)
        except MariaDBError as exc:
            hms.kill()
            hms.wait()
            raise MetastoreError(f"{exc}; see {state / 'metastore.log'}") from None
    except BaseException:
        db.stop()
        raise
    return Metastore(
        uri=f"thrift://127.0.0.1:{port}",
        port=port,
        warehouse=warehouse,
        state=state,
        started_seconds=time.monotonic() - began,
        notifications=listener is not None,
        _hms=hms,
        _db=db,
    )
