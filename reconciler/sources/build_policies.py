"""Schema-valid `kind: MaintenancePolicy` documents -> model.MaintenancePolicy; field checks."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from reconciler.model.containers import SourceRef
from reconciler.model.policies import (
    DEFAULT_BACKUP_EVERY,
    DEFAULT_BACKUP_KEEP_LAST,
    DEFAULT_EXPIRE_OLDER_THAN,
    DEFAULT_MAX_CONCURRENT_JOBS,
    DEFAULT_MIN_DELETE_FILES,
    DEFAULT_MIN_MANIFESTS,
    DEFAULT_MIN_SMALL_FILES,
    DEFAULT_ORPHAN_OLDER_THAN,
    DEFAULT_RETAIN_LAST,
    DEFAULT_SMALL_FILE_SIZE,
    DEFAULT_TARGET_FILE_SIZE,
    ORPHAN_FLOOR_SECONDS,
    Backup,
    BackupCredentials,
    Compaction,
    CompactionStrategy,
    MaintenancePolicy,
    ManifestRewrite,
    OrphanRemoval,
    PositionDeleteRewrite,
    Retention,
    SnapshotExpiry,
    Window,
)
from reconciler.model.units import UnitError, parse_bytes, parse_duration
from reconciler.sources.documents import Built, Document, PathKey, Problems, SpecError

KIND = "MaintenancePolicy"
SCHEMA_FILE = "policy.schema.json"


def _size(problems: Problems, path: PathKey, value: Any, default: int) -> int:
    if value is None:
        return default
    try:
        size = parse_bytes(value, "M")
    except UnitError as exc:
        problems.add(path, str(exc))
        return default
    if size <= 0:
        problems.add(path, "size must be greater than zero")
    return size


def _seconds(problems: Problems, path: PathKey, value: Any, default: int) -> int:
    if value is None:
        return default
    try:
        return parse_duration(value)
    except UnitError as exc:
        problems.add(path, str(exc))
        return default


def _compaction(problems: Problems, raw: dict[str, Any]) -> Compaction:
    at: PathKey = ("spec", "compaction")
    small = _size(
        problems, (*at, "smallFileSize"), raw.get("smallFileSize"), DEFAULT_SMALL_FILE_SIZE
    )
    target = _size(
        problems, (*at, "targetFileSize"), raw.get("targetFileSize"), DEFAULT_TARGET_FILE_SIZE
    )
    if small > target:
        # rewrite_data_files needs min-file-size-bytes <= target-file-size-bytes.
        problems.add((*at, "smallFileSize"), "smallFileSize must not exceed targetFileSize")
    min_files = raw.get("minSmallFiles")
    ratio = raw.get("minSmallFileRatio")
    if min_files is None and ratio is None:
        min_files = DEFAULT_MIN_SMALL_FILES
    return Compaction(
        small_file_size=small,
        min_small_files=min_files,
        min_small_file_ratio=None if ratio is None else float(ratio),
        target_file_size=target,
        strategy=CompactionStrategy(raw.get("strategy", "binpack")),
        where=raw.get("where"),
        max_concurrent_file_groups=raw.get("maxConcurrentFileGroups"),
    )


def _orphans(problems: Problems, raw: dict[str, Any]) -> OrphanRemoval:
    path: PathKey = ("spec", "removeOrphanFiles", "olderThan")
    older = _seconds(problems, path, raw.get("olderThan"), DEFAULT_ORPHAN_OLDER_THAN)
    if older < ORPHAN_FLOOR_SECONDS:
        problems.add(
            path,
            "must be at least 1d: younger files may belong to a write still in "
            "progress, deleting them corrupts the table (Iceberg refuses it too)",
        )
    return OrphanRemoval(older_than=older, dry_run=bool(raw.get("dryRun", False)))


def parse_window(
    problems: Problems, raw: dict[str, Any], at: PathKey = ("spec", "window")
) -> Window | None:
    """A schema-valid window object -> Window (policies' `window`, containers' `restartWindow`)."""
    schedule: str | None = raw.get("schedule")
    timezone: str = raw.get("timezone", "UTC")
    ok = schedule is not None  # else the schema reports it
    if schedule is not None and not croniter.is_valid(schedule):
        problems.add((*at, "schedule"), f"invalid cron expression {schedule!r}")
        ok = False
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.add((*at, "timezone"), f"unknown time zone {timezone!r} (use an IANA name)")
        ok = False
    if "duration" not in raw:
        return None  # the schema reports it
    duration = _seconds(problems, (*at, "duration"), raw["duration"], 0)
    if duration <= 0:
        problems.add((*at, "duration"), "duration must be greater than zero")
        ok = False
    elif ok and schedule is not None and duration > _cron_period(schedule):
        problems.add((*at, "duration"), "the window is longer than the time between its starts")
    return Window(schedule, duration, timezone) if ok and schedule is not None else None


def _cron_period(schedule: str) -> int:
    """Shortest gap between two starts, sampled over a week of starts (enough for cron)."""
    it = croniter(schedule, datetime(2024, 1, 1, tzinfo=UTC))
    starts = [it.get_next(datetime) for _ in range(8)]
    return int(min((b - a).total_seconds() for a, b in itertools.pairwise(starts)))


def _backup(problems: Problems, raw: dict[str, Any]) -> Backup | None:
    at: PathKey = ("spec", "backup")
    target = raw.get("target")
    every = _seconds(problems, (*at, "every"), raw.get("every"), DEFAULT_BACKUP_EVERY)
    if every <= 0:
        problems.add((*at, "every"), "every must be greater than zero")
    window = raw.get("window")
    built_window = None if window is None else parse_window(problems, window, (*at, "window"))
    creds = raw.get("credentials") or {}
    s3_only = [k for k in ("endpoint", "region", "credentials") if k in raw]
    if isinstance(target, str) and not target.startswith("s3://") and s3_only:
        problems.add((*at, s3_only[0]), f"{s3_only[0]} applies to an s3:// target only")
    if not isinstance(target, str):
        return None  # the schema reports it
    return Backup(
        target=target.rstrip("/"),
        every=every,
        keep_last=raw.get("keepLast", DEFAULT_BACKUP_KEEP_LAST),
        window=built_window,
        credentials=BackupCredentials(
            access_key_id_env=creds.get("access_key_id_env"),
            secret_access_key_env=creds.get("secret_access_key_env"),
            session_token_env=creds.get("session_token_env"),
        ),
        endpoint=raw.get("endpoint"),
        region=raw.get("region"),
    )


def build_policy(doc: Document, problems: Problems) -> MaintenancePolicy | None:
    """A MaintenancePolicy document -> MaintenancePolicy, every problem reported through
    `problems`; None when its name is missing (the schema reports that)."""
    spec: dict[str, Any] = doc.data.get("spec") or {}
    compaction = spec.get("compaction")
    expiry = spec.get("expireSnapshots")
    orphans = spec.get("removeOrphanFiles")
    manifests = spec.get("rewriteManifests")
    deletes = spec.get("rewritePositionDeletes")
    retention = spec.get("retention")
    window = spec.get("window")
    expire_snapshots = None
    if expiry is not None:
        older = _seconds(
            problems,
            ("spec", "expireSnapshots", "olderThan"),
            expiry.get("olderThan"),
            DEFAULT_EXPIRE_OLDER_THAN,
        )
        expire_snapshots = SnapshotExpiry(
            older_than=older, retain_last=expiry.get("retainLast", DEFAULT_RETAIN_LAST)
        )
    built_compaction = None if compaction is None else _compaction(problems, compaction)
    built_orphans = None if orphans is None else _orphans(problems, orphans)
    built_window = None if window is None else parse_window(problems, window)
    built_retention = None
    if retention is not None and "column" in retention:
        at: PathKey = ("spec", "retention", "deleteOlderThan")
        age = _seconds(problems, at, retention.get("deleteOlderThan"), 0)
        if age <= 0 and "deleteOlderThan" in retention:
            problems.add(at, "retention needs an age greater than zero, e.g. 90d")
        built_retention = Retention(column=retention["column"], delete_older_than=age)
    backup = spec.get("backup")
    built_backup = None if backup is None else _backup(problems, backup)
    if "name" not in doc.data["metadata"]:
        return None
    return MaintenancePolicy(
        name=doc.data["metadata"]["name"],
        compaction=built_compaction,
        expire_snapshots=expire_snapshots,
        remove_orphan_files=built_orphans,
        rewrite_manifests=None
        if manifests is None
        else ManifestRewrite(min_manifests=manifests.get("minManifests", DEFAULT_MIN_MANIFESTS)),
        rewrite_position_deletes=None
        if deletes is None
        else PositionDeleteRewrite(
            min_delete_files=deletes.get("minDeleteFiles", DEFAULT_MIN_DELETE_FILES)
        ),
        retention=built_retention,
        backup=built_backup,
        window=built_window,
        max_concurrent_jobs=spec.get("maxConcurrentJobs", DEFAULT_MAX_CONCURRENT_JOBS),
        source=SourceRef(doc.file, doc.line),
    )


def check_policies(built: Sequence[Built]) -> Iterable[SpecError]:
    """Across MaintenancePolicy specs: names are unique."""
    seen: dict[str, str] = {}
    for item in built:
        policy: MaintenancePolicy = item.spec
        first = seen.setdefault(policy.name, f"{item.doc.file}:{item.doc.line}")
        if first != f"{item.doc.file}:{item.doc.line}":
            yield item.doc.error(
                ("metadata", "name"), f"policy {policy.name!r} is also defined at {first}"
            )


def check_table_policies(
    policy_names: Iterable[str], tables: Sequence[Built]
) -> Iterable[SpecError]:
    """Every Table's `spec.policy` names an existing MaintenancePolicy."""
    names = set(policy_names)
    for item in tables:
        wanted = getattr(item.spec, "policy", None)
        if wanted is not None and wanted not in names:
            yield item.doc.error(
                ("spec", "policy"), f"maintenance policy {wanted!r} is not defined"
            )


# Column types a retention age can be compared with (a cutoff instant or day).
RETENTION_TYPES = frozenset({"date", "timestamp", "timestamptz"})


def check_table_retention(
    policies: Sequence[MaintenancePolicy], tables: Sequence[Built]
) -> Iterable[SpecError]:
    """A Table whose policy has `retention:` has its column, of a date or timestamp type."""
    by_name = {p.name: p for p in policies}
    for item in tables:
        policy = by_name.get(getattr(item.spec, "policy", None) or "")
        if policy is None or policy.retention is None or getattr(item.spec, "absent", False):
            continue
        column = policy.retention.column
        where = f"{policy.source.file}:{policy.source.line}" if policy.source else policy.name
        found = next((f for f in item.spec.fields if f.name == column), None)
        if found is None:
            yield item.doc.error(
                ("spec", "policy"),
                f"policy {policy.name!r} ({where}) deletes rows by column {column!r}, "
                "which this table does not have",
            )
        elif str(found.type) not in RETENTION_TYPES:
            yield item.doc.error(
                ("spec", "policy"),
                f"policy {policy.name!r} ({where}) deletes rows by column {column!r}, "
                f"which is {found.type}; retention needs a date, timestamp or timestamptz column",
            )
