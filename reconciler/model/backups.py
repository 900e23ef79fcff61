"""Table backups as observed on their target (one manifest each); pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class BackupRecord:
    """One complete backup: its manifest exists (it is written last, so it is whole)."""

    backup_id: str
    created: datetime
    snapshot_id: int | None
    rows: int
    size: int  # bytes of its Parquet files
    location: str  # URI of the backup's directory
    table: str  # catalog.namespace.name it was taken of


@dataclass(frozen=True)
class BackupListing:
    """A table's backups on its policy's target, oldest first; `error` when it could not be read."""

    records: tuple[BackupRecord, ...] = ()
    error: str | None = None

    @property
    def latest(self) -> BackupRecord | None:
        return self.records[-1] if self.records else None
