"""Parsed table metadata kept by `metadata_location`: Iceberg never rewrites a metadata file
(each commit writes a new one), so a location seen before needs no second read."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

DEFAULT_ENTRIES = 4096


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    entries: int


class MetadataCache:
    """A bounded, thread-safe LRU map from metadata file location to parsed metadata.

    Values are opaque here (pyiceberg's `TableMetadata`), so the daemon can own the cache
    without importing pyiceberg. A miss is a metadata read the caller then makes."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES) -> None:
        self._max_entries = max(1, max_entries)
        self._entries: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get(self, location: str) -> object | None:
        with self._lock:
            value = self._entries.get(location)
            if value is None:
                self._misses += 1
                return None
            self._entries.move_to_end(location)
            self._hits += 1
            return value

    def put(self, location: str, metadata: object) -> None:
        with self._lock:
            self._entries[location] = metadata
            self._entries.move_to_end(location)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._entries))
