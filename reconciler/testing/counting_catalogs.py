"""Catalogs that count every call made on their pyiceberg catalogs, for tests and benchmarks
that check how many catalog calls a plan costs."""

from __future__ import annotations

import collections
import threading
from typing import Any

from reconciler.providers.iceberg.catalog import Catalogs


class CountingCatalogs(Catalogs):
    """`calls[method]` counts calls on the catalogs handed out by `get` (thread-safe)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: collections.Counter[str] = collections.Counter()
        self._count_lock = threading.Lock()

    def get(self, name: str) -> Any:
        inner = super().get(name)
        outer = self

        class Proxy:
            def __getattr__(self, attr: str) -> Any:
                value = getattr(inner, attr)
                if not callable(value):
                    return value

                def call(*a: Any, **k: Any) -> Any:
                    with outer._count_lock:
                        outer.calls[attr] += 1
                    return value(*a, **k)

                return call

        return Proxy()
