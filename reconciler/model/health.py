"""How much a table needs maintenance, as frozen data read cheaply from metadata; pure.

Counts come from the current snapshot's summary and the table metadata (snapshot
log, refs, properties). File-level figures (`small_files`) are read only when the
summary says a compaction trigger may be crossed; None means "not read".
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model.policies import Compaction

# Read file sizes only when the average data file is smaller than this many times
# `smallFileSize`: a table made mostly of big files is not worth listing every cycle;
# small files that pile up pull the average down until it is.
AVERAGE_SIZE_FACTOR = 4


@dataclass(frozen=True)
class SnapshotInfo:
    snapshot_id: int
    timestamp_ms: int


@dataclass(frozen=True)
class TableHealth:
    address: str
    data_files: int = 0
    total_bytes: int = 0
    records: int = 0
    delete_files: int = 0
    manifests: int = 0
    snapshots: tuple[SnapshotInfo, ...] = ()  # every snapshot in the metadata, oldest first
    ref_snapshot_ids: frozenset[int] = frozenset()  # snapshots that branches or tags point at
    current_snapshot_id: int | None = None
    gc_enabled: bool = True  # table property gc.enabled
    small_files: int | None = None  # mergeable data files under smallFileSize; None: not read
    small_file_partitions: int | None = None  # partitions holding them (2+ small files each)
    small_file_size: int | None = None  # the threshold `small_files` was counted with
    small_file_bytes: int | None = None  # their bytes; None: not read
    mergeable_delete_files: int | None = None  # position deletes 2+ in a partition; None: not read
    expired_rows: int | None = None  # rows past the policy's retention age; None: not counted
    expired_before: str | None = None  # the cutoff they were counted with (ISO 8601, UTC)

    @property
    def snapshot_count(self) -> int:
        return len(self.snapshots)

    @property
    def oldest_snapshot_ms(self) -> int | None:
        return min((s.timestamp_ms for s in self.snapshots), default=None)

    @property
    def average_file_size(self) -> int:
        return self.total_bytes // self.data_files if self.data_files else 0


def needs_file_sizes(data_files: int, total_bytes: int, compaction: Compaction | None) -> bool:
    """True when the summary alone cannot rule out the compaction trigger."""
    if compaction is None or data_files < 2:
        return False
    if compaction.min_small_files is not None and data_files < compaction.min_small_files:
        return False
    average = total_bytes // data_files
    return average < compaction.small_file_size * AVERAGE_SIZE_FACTOR
