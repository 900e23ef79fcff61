"""Parsed table metadata kept by `metadata_location`: Iceberg never rewrites a metadata file
(each commit writes a new one), so a location seen before needs no second read. Hive
namespace listings are kept beside it (hive_listing brings them up to date)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_ENTRIES = 4096


@dataclass(frozen=True)
class CacheStats:
    hits: int
    misses: int
    entries: int


@dataclass(frozen=True)
class Listing:
    """One namespace as of notification event `event_id`: its Iceberg entries by name and
    the names of its other tables (so those are not fetched again)."""

    event_id: int
    tables: Mapping[str, Any]  # name -> the metastore's entry (a thrift Table)
    others: frozenset[str]
    listed_at: float


class ListingMemo:
    """Listings by (metastore URI, database), shared by a daemon's cycles; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._listings: dict[tuple[str, str], Listing] = {}
        self._lock = threading.Lock()
        self._full_listings = 0

    @property
    def full_listings(self) -> int:
        """Namespaces listed in full so far (for tests and benchmarks)."""
        with self._lock:
            return self._full_listings

    def now(self) -> float:
        return self._clock()

    def get(self, key: tuple[str, str]) -> Listing | None:
        with self._lock:
            return self._listings.get(key)

    def put(self, key: tuple[str, str], listing: Listing, *, full: bool) -> None:
        with self._lock:
            self._listings[key] = listing
            self._full_listings += int(full)


class MetadataCache:
    """A bounded, thread-safe LRU map from metadata file location to parsed metadata.

    Values are opaque here (pyiceberg's `TableMetadata`), so the daemon can own the cache
    without importing pyiceberg. A miss is a metadata read the caller then makes.
    `listings` keeps Hive namespace listings between cycles (see hive_listing)."""

    def __init__(
        self, max_entries: int = DEFAULT_ENTRIES, listings: ListingMemo | None = None
    ) -> None:
        self.listings = listings or ListingMemo()
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
