"""Hive listings kept between daemon cycles on a real metastore with a transactional
notification log: an unchanged namespace costs one call and no table fetch; appends,
creates, drops and renames by another writer are seen on the next cycle, fetched alone."""

from __future__ import annotations

import collections
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pyiceberg.catalog.hive import HiveCatalog
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField

from reconciler.providers.iceberg import hive_listing
from reconciler.providers.iceberg.catalog_hive import CachingHiveCatalog
from reconciler.providers.iceberg.metadata_cache import ListingMemo, MetadataCache

SCHEMA = Schema(NestedField(1, "id", LongType(), required=False))


class _Counting:
    """The real thrift client, with every method call counted by name."""

    def __init__(self, inner: Any, calls: collections.Counter[str]) -> None:
        self._inner, self._calls = inner, calls

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls[name] += 1
            return value(*args, **kwargs)

        return call


class _CountingClient:
    def __init__(self, inner: Any, calls: collections.Counter[str]) -> None:
        self._inner, self._calls = inner, calls

    def __enter__(self) -> _Counting:
        return _Counting(self._inner.__enter__(), self._calls)

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def namespace(hms_uri: str, tmp_path: Path) -> Iterator[tuple[HiveCatalog, str]]:
    """A fresh namespace and a plain pyiceberg catalog on it: "another writer"."""
    other = HiveCatalog("other", uri=hms_uri, warehouse=tmp_path.as_uri())
    name = f"memo_{uuid.uuid4().hex[:8]}"
    other.create_namespace(name)
    yield other, name
    for identifier in other.list_tables(name):
        other.drop_table(identifier)
    other.drop_namespace(name)


def _cycle(
    hms_uri: str, tmp_path: Path, cache: MetadataCache, database: str
) -> tuple[dict[str, str], collections.Counter[str]]:
    """One daemon cycle: a fresh catalog object, the long-lived cache; name -> location."""
    catalog = CachingHiveCatalog(
        "lake", metadata_cache=cache, uri=hms_uri, warehouse=tmp_path.as_uri()
    )
    calls: collections.Counter[str] = collections.Counter()
    catalog._client = _CountingClient(catalog._client, calls)
    listed = catalog.list_iceberg_tables(database)
    locations = {ident[1]: str(entry.parameters["metadata_location"]) for ident, entry in listed}
    return locations, calls


def _trusted(hms_uri: str) -> bool:
    with HiveCatalog("probe", uri=hms_uri)._client as client:
        value = client.get_config_value(name=hive_listing.TRANSACTIONAL_LISTENERS, defaultValue="")
    return hive_listing.trusts_log(str(value))


def test_later_cycles_follow_the_notification_log(
    hms_uri: str, tmp_path: Path, namespace: tuple[HiveCatalog, str]
) -> None:
    if not _trusted(hms_uri):
        if os.environ.get("RECONCILER_REQUIRE_HMS"):
            pytest.fail("the CI metastore must keep a transactional notification log")
        pytest.skip("this metastore keeps no transactional notification log")
    other, database = namespace
    for name in ("a", "b", "c"):
        other.create_table((database, name), SCHEMA)
    clock = Clock()
    cache = MetadataCache(listings=ListingMemo(clock))

    first, _ = _cycle(hms_uri, tmp_path, cache, database)
    assert sorted(first) == ["a", "b", "c"]
    assert cache.listings.full_listings == 1

    unchanged, calls = _cycle(hms_uri, tmp_path, cache, database)
    assert unchanged == first
    assert calls["get_table_objects_by_name"] == 0 and calls["get_all_tables"] == 0
    assert calls["get_current_notificationEventId"] == 1
    assert cache.listings.full_listings == 1

    # Another writer appends to a, drops b, creates d and renames c to e.
    other.load_table((database, "a")).append(pa.table({"id": pa.array([1], pa.int64())}))
    other.drop_table((database, "b"))
    other.create_table((database, "d"), SCHEMA)
    other.rename_table((database, "c"), (database, "e"))
    elsewhere = f"{database}_x"
    other.create_namespace(elsewhere)  # another namespace's events change nothing here
    try:
        changed, calls = _cycle(hms_uri, tmp_path, cache, database)
    finally:
        other.drop_namespace(elsewhere)
    truth = {
        ident[1]: other.load_table(ident).metadata_location for ident in other.list_tables(database)
    }
    assert changed == truth
    assert sorted(changed) == ["a", "d", "e"]
    assert changed["a"] != first["a"]
    assert cache.listings.full_listings == 1  # brought up to date, not listed again
    assert calls["get_table_objects_by_name"] == 1  # only a, d and e, in one batch

    # Whatever the log says, a listing older than an hour is made again in full.
    clock.now += hive_listing.MAX_AGE_SECONDS + 1
    again, _ = _cycle(hms_uri, tmp_path, cache, database)
    assert again == truth
    assert cache.listings.full_listings == 2


def test_without_a_trusted_log_every_listing_is_made_in_full(
    hms_uri: str, tmp_path: Path, namespace: tuple[HiveCatalog, str]
) -> None:
    other, database = namespace
    other.create_table((database, "a"), SCHEMA)
    memo = ListingMemo()
    for _ in range(2):
        calls: collections.Counter[str] = collections.Counter()
        with HiveCatalog("plain", uri=hms_uri)._client as client:
            entries = hive_listing.list_database(
                _Counting(client, calls), database, memo, hms_uri, trusted=False
            )
        assert [str(e.tableName) for e in entries] == ["a"]
        assert calls["get_all_tables"] == 1 and calls["get_table_objects_by_name"] == 1
    assert memo.full_listings == 0 and memo.get((hms_uri, database)) is None


def test_only_a_transactional_db_notification_listener_is_trusted() -> None:
    assert hive_listing.trusts_log(hive_listing.LISTENER)
    assert hive_listing.trusts_log(f"org.example.Audit, {hive_listing.LISTENER}")
    assert not hive_listing.trusts_log("")
    assert not hive_listing.trusts_log("org.example.NotificationListener")
    assert not hive_listing.trusts_log(f"{hive_listing.LISTENER}Extra")
