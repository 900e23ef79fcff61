"""Iceberg catalogs from configuration: pyiceberg's own properties passed through,
`<key>_env` indirection for secrets, an embedded SQLite default; secrets masked in errors."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from pyiceberg.catalog import Catalog, load_catalog

from reconciler.providers.catalog_properties import (
    DEFAULT_PARALLEL_READS,
    PARALLEL_READS,
    catalog_type,
)
from reconciler.providers.catalog_properties import URI_PASSWORD as _URI_PASSWORD
from reconciler.providers.catalog_properties import CatalogConfigError as CatalogConfigError
from reconciler.providers.catalog_properties import resolve_properties as resolve_properties
from reconciler.providers.iceberg.metadata_cache import MetadataCache

MASK = "***"


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value and URI password replaced by ***."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _URI_PASSWORD.sub(lambda m: m.group("head") + MASK + m.group("tail"), text)


def _load(name: str, resolved: dict[str, str], cache: MetadataCache | None) -> Catalog:
    """SQL and Hive catalogs as our caching subclasses; any other type through pyiceberg."""
    kind = catalog_type(resolved)
    if cache is None or kind not in ("sql", "hive") or "py-catalog-impl" in resolved:
        return load_catalog(name, **resolved)
    if kind == "hive":  # thrift and the Hive modules load only for a Hive catalog
        from reconciler.providers.iceberg.catalog_hive import CachingHiveCatalog

        return CachingHiveCatalog(name, metadata_cache=cache, **resolved)
    from reconciler.providers.iceberg.catalog_classes import CachingSqlCatalog

    return CachingSqlCatalog(name, metadata_cache=cache, **resolved)


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
    unchanged table costs no metadata read."""

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
