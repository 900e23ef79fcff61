"""Metastore locks on a table as data, and the commit error that names them and says how a
person releases them (the reconciler never releases a lock on its own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyiceberg.exceptions import CommitFailedException
from pyiceberg.typedef import Identifier


@dataclass(frozen=True)
class HeldLock:
    """One metastore lock on a table, as `show_locks` reports it."""

    lock_id: int
    state: str
    kind: str
    user: str
    host: str
    acquired_at: datetime | None
    last_heartbeat: datetime | None


class TableLockedError(CommitFailedException):
    """A commit gave up waiting for the metastore lock; `locks` are the ones holding it."""

    def __init__(self, identifier: Identifier, locks: tuple[HeldLock, ...], cause: str) -> None:
        super().__init__(cause)
        self.identifier = identifier
        self.locks = locks

    def explain(self, address: str, catalog: str) -> str:
        """What holds the table and how a person releases it (we never do on our own)."""
        table = ".".join((catalog, *self.identifier))
        if not self.locks:
            return (
                f"{address}: the metastore did not grant the commit lock in time ({self}); "
                "no lock is listed on the table now: a concurrent writer held it. Re-plan."
            )
        held = "; ".join(_describe(lock) for lock in self.locks)
        first = self.locks[0].lock_id
        return (
            f"{address}: the metastore lock on {table} is held: {held}. A writer that "
            "crashed mid-commit leaves its lock behind, and the reconciler never releases a "
            "lock on its own. If no writer (Spark, pyiceberg, Trino) is working on this "
            f"table, release it with `reconcile force-unlock {table} {first}`, then apply again."
        )


def _describe(lock: HeldLock) -> str:
    def at(moment: datetime | None) -> str:
        return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"

    return (
        f"lock {lock.lock_id} ({lock.kind}, {lock.state}) by {lock.user}@{lock.host}, "
        f"acquired {at(lock.acquired_at)}, last heartbeat {at(lock.last_heartbeat)}"
    )


def _when(millis: int | None) -> datetime | None:
    return datetime.fromtimestamp(millis / 1000, UTC) if millis else None


def _name(enum: Any, value: int | None) -> str:
    return str(enum._VALUES_TO_NAMES.get(value, value))


def held_locks(response: Any, database: str, name: str) -> tuple[HeldLock, ...]:
    """The locks of a `show_locks` answer that are on `database`.`name`."""
    # Here, not at the top: the writer imports TableLockedError for every catalog type.
    from hive_metastore.ttypes import LockState, LockType

    return tuple(
        HeldLock(
            lock_id=int(lock.lockid),
            state=_name(LockState, lock.state),
            kind=_name(LockType, lock.type),
            user=str(lock.user or "?"),
            host=str(lock.hostname or "?"),
            acquired_at=_when(lock.acquiredat),
            last_heartbeat=_when(lock.lastheartbeat),
        )
        for lock in response.locks or ()
        if (lock.dbname or "").lower() == database.lower()
        and (lock.tablename or "").lower() == name.lower()
    )
