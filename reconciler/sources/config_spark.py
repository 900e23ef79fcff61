"""The config's `spark:` section checked beyond its schema: what becomes a spark-submit
argument is an allow-listed string (no option smuggled in, no secret on the command line)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from reconciler.model.units import UnitError, parse_bytes
from reconciler.sources.documents import Document, SpecError

# user:password@ in a URL: it would show wherever the URL does.
URI_PASSWORD = re.compile(r"://[^/@:\s]+:[^/@\s]+@")
# group:artifact:version, as spark-submit --packages takes them.
_MAVEN_COORDINATE = re.compile(r"[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.+-]+")
_REPOSITORY_URL = re.compile(r"(https?|file)://\S+")
# Strings that become spark-submit arguments: never an option (a leading '-'), never a
# control character; --jars is comma-separated, so a comma would split one jar into two.
_JAR = re.compile(r"[^\s,-][^\s,]*")
_SUBMIT = re.compile(r"[A-Za-z0-9_./+~][A-Za-z0-9_./+~-]*")
_CONF_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Set through spark.jars / spark.packages / spark.repositories, which the runner turns into flags.
_SPARK_CONF_OWNED = {
    "spark.jars": "jars",
    "spark.jars.packages": "packages",
    "spark.jars.repositories": "repositories",
}


def _list(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    return value if isinstance(value, list) else []  # other shapes: the schema says why


def spark_problems(doc: Document, raw: dict[str, Any]) -> Iterator[SpecError]:
    for i, coordinate in enumerate(_list(raw, "packages")):
        if not _MAVEN_COORDINATE.fullmatch(str(coordinate)):
            yield doc.error(("spark", "packages", i), f"{coordinate!r} is not a Maven coordinate "
                            "group:artifact:version, e.g. "
                            "org.apache.iceberg:iceberg-spark-runtime-4.0_2.13:1.10.0")  # fmt: skip
    for i, url in enumerate(_list(raw, "repositories")):
        if not _REPOSITORY_URL.fullmatch(str(url)):
            yield doc.error(("spark", "repositories", i), f"{url!r} is not a repository URL "
                            "(https://..., http://... or file:///...)")  # fmt: skip
        elif URI_PASSWORD.search(str(url)):
            yield doc.error(("spark", "repositories", i), "credentials in a repository URL would "
                            "show on the spark-submit command line; name the repository in an "
                            "Ivy settings file (spark.conf spark.jars.ivySettings)")  # fmt: skip
    for i, jar in enumerate(_list(raw, "jars")):
        if not _JAR.fullmatch(str(jar)):
            yield doc.error(("spark", "jars", i), f"{jar!r} is not a jar path or URL (no "
                            "spaces or commas, not starting with '-')")  # fmt: skip
    submit = raw.get("submit")
    if isinstance(submit, str) and not _SUBMIT.fullmatch(submit):
        yield doc.error(("spark", "submit"), f"{submit!r} is not a path to spark-submit "
                        "(letters, digits, '_', '.', '/', '+', '~', '-'; "
                        "no leading '-')")  # fmt: skip
    conf = raw.get("conf")
    for key, value in conf.items() if isinstance(conf, dict) else ():
        if not _CONF_KEY.fullmatch(str(key)):
            yield doc.error(("spark", "conf", str(key)), "is not a Spark property name "
                            "(letters, digits, '_', '.', '-')")  # fmt: skip
        elif isinstance(value, str) and _CONTROL.search(value):
            yield doc.error(("spark", "conf", str(key)), "a value may not hold control "
                            "characters (a line break would split the property)")  # fmt: skip
    if isinstance(raw.get("partialProgressSize"), str):
        try:
            if parse_bytes(raw["partialProgressSize"], "G") < 1:
                raise UnitError("partialProgressSize must be at least 1 byte")
        except UnitError as exc:
            yield doc.error(("spark", "partialProgressSize"), str(exc))
    for key, own in _SPARK_CONF_OWNED.items():
        if isinstance(raw.get("conf"), dict) and key in raw["conf"]:
            yield doc.error(("spark", "conf", key), f"set spark.{own} instead")
