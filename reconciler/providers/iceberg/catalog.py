"""Iceberg catalogs from configuration: pyiceberg's own properties passed through,
`<key>_env` indirection for secrets, an embedded SQLite default; secrets masked in errors."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from pyiceberg.catalog import Catalog, load_catalog

from reconciler.providers.iceberg.metadata_cache import MetadataCache

ENV_SUFFIX = "_env"
# The reconciler's own per-catalog key: how many tables to load at once while observing.
PARALLEL_READS = "parallel_reads"
DEFAULT_PARALLEL_READS = 8
MASK = "***"
# Keys whose values are secrets even when written inline (they should use `_env`).
_SECRET_KEY = re.compile(r"(password|secret|token|credential|session)", re.IGNORECASE)
_URI_PASSWORD = re.compile(r"(?P<head>[a-z0-9+.-]+://[^:/@\s]+:)(?P<pw>[^@\s]+)(?P<tail>@)", re.I)


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
    for match in _URI_PASSWORD.finditer(resolved.get("uri", "")):
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


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value and URI password replaced by ***."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _URI_PASSWORD.sub(lambda m: m.group("head") + MASK + m.group("tail"), text)


def _load(name: str, resolved: dict[str, str], cache: MetadataCache | None) -> Catalog:
    """SQL and Hive catalogs as our caching subclasses; any other type through pyiceberg."""
    uri = resolved.get("uri", "")
    kind = resolved.get("type") or (
        "hive"
        if uri.startswith("thrift")
        else "sql"
        if uri.startswith(("sqlite", "postgresql"))
        else None
    )
    if cache is None or kind not in ("sql", "hive") or "py-catalog-impl" in resolved:
        return load_catalog(name, **resolved)
    from reconciler.providers.iceberg import catalog_classes

    if kind == "hive":
        return catalog_classes.CachingHiveCatalog(name, metadata_cache=cache, **resolved)
    return catalog_classes.CachingSqlCatalog(name, metadata_cache=cache, **resolved)


def build_catalog(
    name: str,
    properties: Mapping[str, str],
    env: Mapping[str, str] | None = None,
    state_dir: Path | None = None,
    metadata_cache: MetadataCache | None = None,
) -> Catalog:
    """The catalog `name` from its resolved properties; failures re-raised masked.

    With `metadata_cache`, SQL and Hive catalogs read a metadata file once per location."""
    resolved, secrets = resolve_properties(
        name, properties, os.environ if env is None else env, state_dir
    )
    try:
        return _load(name, resolved, metadata_cache)
    except Exception as exc:  # any driver error may echo the URI or a key: mask it
        raise CatalogConfigError(f"catalog {name!r}: {mask(str(exc), secrets)}") from None


def _per_thread(properties: Mapping[str, str]) -> bool:
    """pyiceberg's HiveCatalog keeps one thrift transport per object: one object per thread."""
    return str(properties.get("type", "")) == "hive"


class Catalogs:
    """The configured catalogs by name, each built once on first use (per thread for Hive).

    `metadata_cache` outlives one plan when the caller keeps it (the daemon does), so an
    unchanged table costs one catalog call and no metadata read."""

    def __init__(
        self,
        configs: Mapping[str, Mapping[str, str]],
        state_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        metadata_cache: MetadataCache | None = None,
    ) -> None:
        self._configs = {name: dict(props) for name, props in configs.items()}
        self._state_dir = state_dir
        self._env = env
        self.metadata_cache = MetadataCache() if metadata_cache is None else metadata_cache
        self._built: dict[str, Catalog] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._configs))

    def get(self, name: str) -> Catalog:
        if _per_thread(self._configs.get(name, {})):
            mine: dict[str, Catalog] = self._local.__dict__.setdefault("built", {})
            if name not in mine:
                mine[name] = self._build(name)
            return mine[name]
        with self._lock:
            if name not in self._built:
                if name not in self._configs:
                    raise CatalogConfigError(f"catalog {name!r} is not configured (see `catalogs`)")
                self._built[name] = self._build(name)
            return self._built[name]

    def _build(self, name: str) -> Catalog:
        return build_catalog(
            name, self._configs[name], self._env, self._state_dir, self.metadata_cache
        )

    def parallel_reads(self, name: str) -> int:
        """Tables of catalog `name` loaded at once while observing (`parallel_reads`)."""
        value = self._configs.get(name, {}).get(PARALLEL_READS, DEFAULT_PARALLEL_READS)
        return max(1, int(value))

    def secrets(self, name: str) -> tuple[str, ...]:
        """Secret values of one catalog's configuration, for masking messages."""
        env = os.environ if self._env is None else self._env
        try:
            return resolve_properties(name, self._configs.get(name, {}), env, None)[1]
        except CatalogConfigError:
            return ()
