"""Pure builders for Spark maintenance jobs: catalog conf and spark-submit argv.

Nothing here runs a process or reads a file. Secrets (JDBC passwords, REST
credentials, S3 keys) are kept apart in `CatalogConf.secrets` so the runner can
hand them over through a 0600 file instead of the command line (visible in ps).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from urllib.parse import unquote, urlsplit

from reconciler.providers.catalog_properties import catalog_type
from reconciler.settings import SparkSettings

ICEBERG_VERSION = "1.10.0"
RUNTIME_PACKAGE = f"org.apache.iceberg:iceberg-spark-runtime-4.0_2.13:{ICEBERG_VERSION}"
# Spark 3.5 (Scala 2.12) instead: org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.10.0
RUNTIME_PREFIX = "org.apache.iceberg:iceberg-spark-runtime-"
AWS_BUNDLE = "org.apache.iceberg:iceberg-aws-bundle"
S3_FILE_IO = "org.apache.iceberg.aws.s3.S3FileIO"
SQLITE_JAR = "/usr/share/java/sqlite-jdbc.jar"
POSTGRES_JAR = "/usr/share/java/postgresql.jar"
EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
DEFAULT_DRIVER_MEMORY = "1g"
# A job is a batch with no pause goal: the throughput collector spends less CPU than G1's
# barriers (on local[N] the tasks run in the driver JVM; 400-file rewrite: -7% task CPU).
DRIVER_JAVA_OPTIONS = "-XX:+UseParallelGC"
# local[N]: shuffles of N cores in Spark's 200 partitions are mostly task overhead
# (expire_snapshots of 100 snapshots on local[2]: 93 s with 200, 41 s with 4).
_LOCAL_MASTER = re.compile(r"local(?:\[(\d+)(?:,\d+)?\])?")
SECRET_KEYS = frozenset(
    {
        "jdbc.password",
        "credential",
        "token",
        "s3.secret-access-key",
        "s3.access-key-id",
        "s3.session-token",
    }
)
HMS_TIMEOUT = "hive.metastore.client.socket.timeout"
_PASS_THROUGH_PREFIXES = ("s3.", "client.", "header.")
# Any of these in a key name makes its value a secret: it goes in the 0600 job file, never on
# the spark-submit argv (`ps` shows argv to every local user).
_SECRET_NAME = re.compile(
    r"secret|token|password|passwd|credential|private[-_.]?key|api[-_.]?key|access[-_.]?key"
    r"|session[-_.]?key|authorization|signature",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    """A catalog or Spark conf key whose value must not reach a command line: the known
    secret keys, every HTTP header (`header.Authorization`), and secret-looking names."""
    return key in SECRET_KEYS or key.startswith("header.") or bool(_SECRET_NAME.search(key))


def conf_from_env(
    conf: Sequence[tuple[str, str]], environ: Mapping[str, str]
) -> tuple[tuple[str, str], ...]:
    """`spark.conf` keys ending in `_env` -> (key without `_env`, the variable's value), for the
    job file; a variable that is not set is an error naming the key."""
    resolved: list[tuple[str, str]] = []
    for key, name in conf:
        if not key.endswith("_env"):
            continue
        if name not in environ:
            raise JobError(f"spark.conf {key}: environment variable {name} is not set")
        resolved.append((key[: -len("_env")], environ[name]))
    return tuple(resolved)


class JobError(ValueError):
    """A catalog config or plan line that cannot become a Spark job."""


@dataclass(frozen=True)
class CatalogConf:
    """Spark conf for one Iceberg catalog named like the pyiceberg catalog (it is stored
    in the catalog's `catalog_name` column, so the names must match)."""

    name: str
    conf: tuple[tuple[str, str], ...]
    secrets: tuple[tuple[str, str], ...] = ()
    jars: tuple[str, ...] = ()
    s3: bool = False  # S3FileIO: needs the AWS bundle, and prefix listing for orphan removal


def _jdbc(uri: str) -> tuple[str, dict[str, str], dict[str, str], str]:
    """SQLAlchemy URI -> (jdbc uri, conf, secrets, driver jar)."""
    if uri.startswith("sqlite:///"):
        return "jdbc:sqlite:" + uri[len("sqlite:///") :], {}, {}, SQLITE_JAR
    parts = urlsplit(uri)
    if not parts.scheme.startswith("postgresql"):
        raise JobError(f"unsupported SQL catalog URI scheme {parts.scheme!r} for Spark")
    host = parts.hostname or "127.0.0.1"
    jdbc = f"jdbc:postgresql://{host}:{parts.port or 5432}{parts.path}"
    conf = {"jdbc.user": unquote(parts.username)} if parts.username else {}
    secrets = {"jdbc.password": unquote(parts.password)} if parts.password else {}
    return jdbc, conf, secrets, POSTGRES_JAR


def catalog_conf(name: str, props: Mapping[str, str]) -> CatalogConf:
    """pyiceberg catalog properties (after providers.catalog_properties.resolve_properties)
    -> Spark catalog conf."""
    uri = props.get("uri", "")
    kind = catalog_type(props)
    conf: dict[str, str] = {}
    secrets: dict[str, str] = {}
    jars: list[str] = []
    if kind == "sql":
        jdbc, extra, hidden, jar = _jdbc(uri)
        conf.update(
            {
                "type": "jdbc",
                "uri": jdbc,
                **extra,
                # pyiceberg creates the catalog tables; Spark creating them too locks SQLite.
                "jdbc.init-catalog-tables": "false",
            }
        )
        secrets.update(hidden)
        jars.append(jar)
    elif kind in ("hive", "rest"):
        conf.update({"type": kind, "uri": uri})
        if kind == "hive" and HMS_TIMEOUT in props:
            # The same bound for Spark's metastore client (Iceberg reads `hadoop.*` overrides).
            seconds = props[HMS_TIMEOUT].strip().removesuffix("s")
            conf[f"hadoop.{HMS_TIMEOUT}"] = f"{seconds}s"
        for key in ("credential", "token", "prefix", "oauth2-server-uri", "scope"):
            if key in props:
                (secrets if is_secret_key(key) else conf)[key] = props[key]
    else:
        raise JobError(f"catalog type {kind!r} is not supported by the Spark runner")
    if "warehouse" in props:
        conf["warehouse"] = props["warehouse"]
        if props["warehouse"].startswith(("s3://", "s3a://")):
            conf["io-impl"] = S3_FILE_IO
    if "io-impl" in props:
        conf["io-impl"] = props["io-impl"]
    for key, value in props.items():
        if key.startswith(_PASS_THROUGH_PREFIXES):
            (secrets if is_secret_key(key) else conf)[key] = value
    if "s3.region" in props and "client.region" not in props:
        conf["client.region"] = props["s3.region"]  # pyiceberg's name; Iceberg Java reads this
    # Without this a long-lived session would not see pyiceberg's commits.
    conf["cache-enabled"] = "false"
    prefix = f"spark.sql.catalog.{name}"
    return CatalogConf(
        name=name,
        conf=(
            (prefix, "org.apache.iceberg.spark.SparkCatalog"),
            *sorted((f"{prefix}.{k}", v) for k, v in conf.items()),
        ),
        secrets=tuple(sorted((f"{prefix}.{k}", v) for k, v in secrets.items())),
        jars=tuple(jars),
        s3=conf.get("io-impl") == S3_FILE_IO,
    )


def packages(settings: SparkSettings, catalog: CatalogConf) -> tuple[str, ...]:
    """Maven coordinates for --packages: the configured ones, else the Iceberg runtime unless
    jars are given; plus the AWS bundle of the runtime's version for an S3FileIO catalog."""
    if settings.packages is None:
        chosen = [] if settings.jars else [RUNTIME_PACKAGE]
    else:
        chosen = list(settings.packages)
    runtime = [p for p in chosen if p.startswith(RUNTIME_PREFIX)]
    if catalog.s3 and runtime and not any(p.startswith(AWS_BUNDLE + ":") for p in chosen):
        chosen.append(f"{AWS_BUNDLE}:{runtime[0].rsplit(':', 1)[1]}")
    return tuple(dict.fromkeys(chosen))


def maven_path(coordinate: str, repository: PurePath) -> PurePath:
    """Where a local Maven repository keeps a coordinate's jar (`mvn dependency:get` puts it
    there): for `spark.jars` on a host that has the repository but no network."""
    group, artifact, version = coordinate.split(":")
    return repository.joinpath(*group.split("."), artifact, version, f"{artifact}-{version}.jar")


def submit_argv(
    spark_submit: str,
    settings: SparkSettings,
    catalog: CatalogConf,
    job_main: str,
    job_file: str,
    app_name: str,
    *,
    ivy_dir: str | None = None,
) -> list[str]:
    """The spark-submit command line; holds no secret (those are in `job_file`, mode 0600).

    `ivy_dir` (the state dir's) caches resolved packages so later runs need no network."""
    user_conf = dict(settings.conf)
    conf: dict[str, str] = {
        "spark.sql.extensions": EXTENSIONS,
        "spark.ui.enabled": "false",
        "spark.driver.memory": DEFAULT_DRIVER_MEMORY,
        "spark.driver.extraJavaOptions": DRIVER_JAVA_OPTIONS,
        **dict(catalog.conf),
    }
    local = _LOCAL_MASTER.fullmatch(settings.master)
    if local:
        conf["spark.sql.shuffle.partitions"] = str(2 * int(local.group(1) or 1))
    coordinates = packages(settings, catalog)
    if coordinates and ivy_dir is not None:
        conf["spark.jars.ivy"] = ivy_dir
    conf.update(user_conf)
    jars = [*catalog.jars, *settings.jars]
    argv = [spark_submit, "--master", settings.master, "--name", app_name]
    if jars:
        argv += ["--jars", ",".join(dict.fromkeys(jars))]
    if coordinates:
        argv += ["--packages", ",".join(coordinates)]
        if settings.repositories:
            argv += ["--repositories", ",".join(settings.repositories)]
    secret_keys = {k for k, _ in catalog.secrets}
    for key, value in conf.items():
        if key.endswith("_env"):
            continue  # resolved into the job file (conf_from_env)
        if key in secret_keys:
            raise JobError(f"spark conf {key} is a secret: set it through the catalog config")
        if key in user_conf and is_secret_key(key):
            raise JobError(
                f"spark.conf {key} looks like a secret and would be on the spark-submit command "
                f"line: name an environment variable with {key}_env instead"
            )
        argv += ["--conf", f"{key}={value}"]
    return [*argv, job_main, job_file]
