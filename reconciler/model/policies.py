"""Maintenance policies (kind MaintenancePolicy) as frozen data; pure, no I/O, no parsing of YAML.

Sizes are bytes and durations seconds. A section that is None was left out of
the spec, which means that kind of maintenance is not done under the policy.
Our defaults are stated here, once, and documented in SPECS.md terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reconciler.model.containers import SourceRef
from reconciler.model.units import MIB
from reconciler.model.windows import Window as Window  # re-exported: policies name it

DAY = 86400
# Iceberg refuses remove_orphan_files with older_than < 24 h: younger files may belong to
# a write that has not committed yet, and deleting them corrupts the table.
ORPHAN_FLOOR_SECONDS = DAY

# Our defaults. Iceberg's expire_snapshots defaults are 5 days / retain 1 (no time travel
# left after a bad write); Amoro uses 12 h. We keep a week and ten snapshots.
DEFAULT_SMALL_FILE_SIZE = 32 * MIB
DEFAULT_MIN_SMALL_FILES = 50
DEFAULT_TARGET_FILE_SIZE = 128 * MIB
DEFAULT_EXPIRE_OLDER_THAN = 7 * DAY
DEFAULT_RETAIN_LAST = 10
DEFAULT_ORPHAN_OLDER_THAN = 3 * DAY
DEFAULT_MIN_MANIFESTS = 100
DEFAULT_MIN_DELETE_FILES = 10
DEFAULT_MAX_CONCURRENT_JOBS = 1
DEFAULT_BACKUP_EVERY = DAY
DEFAULT_BACKUP_KEEP_LAST = 7


class CompactionStrategy(StrEnum):
    BINPACK = "binpack"
    SORT = "sort"  # uses the table's sortBy


@dataclass(frozen=True)
class Compaction:
    """rewrite_data_files. Triggered when the count of small files reaches `min_small_files`
    and/or their share of all data files reaches `min_small_file_ratio` (both set: both
    must hold; neither set: `DEFAULT_MIN_SMALL_FILES`)."""

    small_file_size: int = DEFAULT_SMALL_FILE_SIZE
    min_small_files: int | None = DEFAULT_MIN_SMALL_FILES
    min_small_file_ratio: float | None = None
    target_file_size: int = DEFAULT_TARGET_FILE_SIZE
    strategy: CompactionStrategy = CompactionStrategy.BINPACK
    where: str | None = None
    max_concurrent_file_groups: int | None = None


@dataclass(frozen=True)
class SnapshotExpiry:
    """expire_snapshots: snapshots older than `older_than` beyond the last `retain_last`;
    snapshots that branches or tags reference are always kept (Iceberg does so too)."""

    older_than: int = DEFAULT_EXPIRE_OLDER_THAN
    retain_last: int = DEFAULT_RETAIN_LAST


@dataclass(frozen=True)
class OrphanRemoval:
    """remove_orphan_files for files older than `older_than` (>= ORPHAN_FLOOR_SECONDS)."""

    older_than: int = DEFAULT_ORPHAN_OLDER_THAN
    dry_run: bool = False


@dataclass(frozen=True)
class ManifestRewrite:
    """rewrite_manifests once the current snapshot has at least `min_manifests` manifests."""

    min_manifests: int = DEFAULT_MIN_MANIFESTS


@dataclass(frozen=True)
class PositionDeleteRewrite:
    """rewrite_position_delete_files once the current snapshot has at least `min_delete_files`
    delete files (merge-on-read tables pile them up with every DELETE, UPDATE and MERGE)."""

    min_delete_files: int = DEFAULT_MIN_DELETE_FILES


@dataclass(frozen=True)
class Retention:
    """Delete rows whose `column` (a date, timestamp or timestamptz column) is older than
    `delete_older_than` seconds; opt-in, previewed with the row count it would delete."""

    column: str
    delete_older_than: int


@dataclass(frozen=True)
class BackupCredentials:
    """Names of the environment variables holding the target's keys (never the keys)."""

    access_key_id_env: str | None = None
    secret_access_key_env: str | None = None
    session_token_env: str | None = None


@dataclass(frozen=True)
class Backup:
    """Export of the current snapshot to Parquet plus a manifest under `target` (`file://`
    or `s3://`), due `every` seconds after the last complete backup, inside `window` (the
    policy's window when None); the newest `keep_last` complete backups are kept."""

    target: str
    every: int = DEFAULT_BACKUP_EVERY
    keep_last: int = DEFAULT_BACKUP_KEEP_LAST
    window: Window | None = None
    credentials: BackupCredentials = BackupCredentials()
    endpoint: str | None = None  # s3:// only: an S3-compatible endpoint (MinIO), path-style
    region: str | None = None


@dataclass(frozen=True)
class MaintenancePolicy:
    name: str
    compaction: Compaction | None = None
    expire_snapshots: SnapshotExpiry | None = None
    remove_orphan_files: OrphanRemoval | None = None
    rewrite_manifests: ManifestRewrite | None = None
    rewrite_position_deletes: PositionDeleteRewrite | None = None
    retention: Retention | None = None
    backup: Backup | None = None
    window: Window | None = None
    max_concurrent_jobs: int = DEFAULT_MAX_CONCURRENT_JOBS
    source: SourceRef | None = None
    depends_on: tuple[str, ...] = ()  # policies depend on nothing; kept for the spec registry

    @property
    def address(self) -> str:
        return f"policy/{self.name}"
