"""Iceberg catalogs from configuration: pyiceberg's own properties passed through,
`<key>_env` indirection for secrets, an embedded SQLite default; secrets masked in errors."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from pyiceberg.catalog import Catalog, load_catalog

from reconciler.providers.catalog_properties import URI_PASSWORD as _URI_PASSWORD
from reconciler.providers.catalog_properties import CatalogConfigError as CatalogConfigError
from reconciler.providers.catalog_properties import resolve_properties as resolve_properties

MASK = "***"


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value and URI password replaced by ***."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _URI_PASSWORD.sub(lambda m: m.group("head") + MASK + m.group("tail"), text)


def build_catalog(
    name: str,
    properties: Mapping[str, str],
    env: Mapping[str, str] | None = None,
    state_dir: Path | None = None,
) -> Catalog:
    """`pyiceberg.catalog.load_catalog(name, **resolved)`; failures re-raised masked."""
    resolved, secrets = resolve_properties(
        name, properties, os.environ if env is None else env, state_dir
    )
    try:
        return load_catalog(name, **resolved)
    except Exception as exc:  # any driver error may echo the URI or a key: mask it
        raise CatalogConfigError(f"catalog {name!r}: {mask(str(exc), secrets)}") from None


def _per_thread(properties: Mapping[str, str]) -> bool:
    """pyiceberg's HiveCatalog keeps one thrift transport per object: one object per thread."""
    return str(properties.get("type", "")) == "hive"


class Catalogs:
    """The configured catalogs by name, each built once on first use (per thread for Hive)."""

    def __init__(
        self,
        configs: Mapping[str, Mapping[str, str]],
        state_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._configs = {name: dict(props) for name, props in configs.items()}
        self._state_dir = state_dir
        self._env = env
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
                mine[name] = build_catalog(name, self._configs[name], self._env, self._state_dir)
            return mine[name]
        with self._lock:
            if name not in self._built:
                if name not in self._configs:
                    raise CatalogConfigError(f"catalog {name!r} is not configured (see `catalogs`)")
                self._built[name] = build_catalog(
                    name, self._configs[name], self._env, self._state_dir
                )
            return self._built[name]

    def secrets(self, name: str) -> tuple[str, ...]:
        """Secret values of one catalog's configuration, for masking messages."""
        env = os.environ if self._env is None else self._env
        try:
            return resolve_properties(name, self._configs.get(name, {}), env, None)[1]
        except CatalogConfigError:
            return ()
