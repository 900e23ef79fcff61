"""Catalog configuration shared by the Iceberg and Spark providers: `<key>_env` secret
indirection and the embedded SQLite default; stdlib only, no SDK.

Both reach the same catalogs (pyiceberg for planning, Spark for maintenance), so they
resolve a catalog's properties with this one function.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

ENV_SUFFIX = "_env"
# The reconciler's own per-catalog key: how many tables to load at once while observing.
PARALLEL_READS = "parallel_reads"
DEFAULT_PARALLEL_READS = 8
# Keys whose values are secrets even when written inline (they should use `_env`).
_SECRET_KEY = re.compile(r"(password|secret|token|credential|session)", re.IGNORECASE)
URI_PASSWORD = re.compile(r"(?P<head>[a-z0-9+.-]+://[^:/@\s]+:)(?P<pw>[^@\s]+)(?P<tail>@)", re.I)


class CatalogConfigError(ValueError):
    """A catalog cannot be built from its configuration; the message is user-facing and masked."""


def resolve_properties(
    name: str, properties: Mapping[str, str], env: Mapping[str, str], state_dir: Path | None
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Catalog properties with `<key>_env: VAR` replaced by `<key>: $VAR`, defaults filled;
    returns the properties and the secret values to mask."""
    resolved: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in properties.items():
        if key == PARALLEL_READS:
            continue  # ours, not pyiceberg's or Spark's
        if key.endswith(ENV_SUFFIX):
            target = key[: -len(ENV_SUFFIX)]
            if value not in env:
                raise CatalogConfigError(
                    f"catalog {name!r}: property {target!r} reads environment variable "
                    f"{value!r}, which is not set"
                )
            resolved[target] = env[value]
            secrets.append(env[value])
        else:
            resolved[key] = str(value)
            if _SECRET_KEY.search(key):
                secrets.append(str(value))
    for match in URI_PASSWORD.finditer(resolved.get("uri", "")):
        secrets.append(match.group("pw"))
    if "uri" not in resolved and resolved.get("type", "sql") == "sql":
        # Embedded default: a SQL catalog on SQLite beside a local warehouse.
        if state_dir is None:
            raise CatalogConfigError(
                f"catalog {name!r}: no uri and no state_dir for the embedded default"
            )
        base = state_dir / "iceberg"
        base.mkdir(parents=True, exist_ok=True)
        resolved["uri"] = f"sqlite:///{base / f'{name}.db'}"
        resolved.setdefault("warehouse", (base / "warehouse").as_uri())
        resolved.setdefault("type", "sql")
    if resolved.get("type") == "hive":
        # HMS 2.x cannot parse `timestamp with local time zone`; Iceberg ignores HMS columns.
        resolved.setdefault("hive.hive2-compatible", "true")
    warehouse = resolved.get("warehouse", "")
    if warehouse.startswith("file://"):
        Path(warehouse[len("file://") :]).mkdir(parents=True, exist_ok=True)
    elif warehouse.startswith("/"):
        Path(warehouse).mkdir(parents=True, exist_ok=True)
        resolved["warehouse"] = Path(warehouse).as_uri()
    uri = resolved.get("uri", "")
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return resolved, tuple(s for s in secrets if s)


def catalog_type(properties: Mapping[str, str]) -> str:
    """`type`, else inferred from the URI as pyiceberg does (thrift: hive, http(s): rest);
    anything else is a SQL catalog (SQLite or PostgreSQL, the embedded default)."""
    uri = str(properties.get("uri", ""))
    return str(properties.get("type") or "") or (
        "hive"
        if uri.startswith("thrift://")
        else "rest"
        if uri.startswith(("http://", "https://"))
        else "sql"
    )
