"""What the engine asks of backup observation: a protocol the backup provider implements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from reconciler.model.backups import BackupListing
from reconciler.model.policies import MaintenancePolicy
from reconciler.model.tables import TableSpec


class BackupObserver(Protocol):
    """The complete backups of each table whose policy has `backup:`, by address (listed on
    the target itself, not from local state: another host's backups count too)."""

    def __call__(
        self, specs: Sequence[TableSpec], policies: Mapping[str, MaintenancePolicy], /
    ) -> Mapping[str, BackupListing]: ...
