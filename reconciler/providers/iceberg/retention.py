"""Retention by age with pyiceberg: count the rows older than a cutoff (plan time) and delete
them in one commit (`delete_expired_rows` lines), recounting first; earlier snapshots keep
the rows until expire_snapshots removes them."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from pyiceberg.expressions import BooleanExpression, LessThan, Reference
from pyiceberg.expressions.literals import literal
from pyiceberg.table import Table
from pyiceberg.types import DateType, TimestampType, TimestamptzType

from reconciler.apply.errors import PermanentError
from reconciler.plan.change import Action, Change
from reconciler.plan.retention_ops import DeleteExpiredRows
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.report.outcome import Outcome, Status

log = structlog.get_logger("reconciler.retention")

# The applier refuses when its recount exceeds the preview by more than this: rows arriving
# older than the cutoff since the plan are expected (late data, the clock moving on), a
# different table or column meaning is not.
MARGIN_RATIO = 0.10
MARGIN_ROWS = 1000


def allowed_rows(previewed: int) -> int:
    """The most rows a line previewing `previewed` may delete: 10% + 1000 more."""
    return previewed + int(previewed * MARGIN_RATIO) + MARGIN_ROWS


def cutoff_of(now: datetime, older_than_seconds: int) -> datetime:
    aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return (aware - timedelta(seconds=older_than_seconds)).astimezone(UTC)


def _before(column: str, value: str) -> BooleanExpression:
    return LessThan(term=Reference(column), value=literal(value))


def expired_filter(table: Table, column: str, cutoff: datetime) -> BooleanExpression:
    """`column < cutoff` in the column's own type (a date compares with the cutoff's day)."""
    field = table.schema().find_field(column)
    kind = field.field_type
    if isinstance(kind, DateType):
        return _before(column, cutoff.date().isoformat())
    if isinstance(kind, TimestamptzType):
        return _before(column, cutoff.isoformat())
    if isinstance(kind, TimestampType):
        return _before(column, cutoff.replace(tzinfo=None).isoformat())
    raise ValueError(f"column {column!r} is {kind}, not a date or timestamp")


def count_expired(table: Table, column: str, cutoff: datetime) -> int:
    """Rows of the current snapshot with `column` before `cutoff` (reads only that column)."""
    if table.current_snapshot() is None:
        return 0
    scan = table.scan(row_filter=expired_filter(table, column, cutoff), selected_fields=(column,))
    return int(scan.count())


class RetentionApplier:
    """Carries out `delete_expired_rows` lines from their `DeleteExpiredRows` operation."""

    def __init__(
        self,
        catalogs: Catalogs,
        still_owned: Callable[[str], bool],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._catalogs = catalogs
        self._still_owned = still_owned
        self._clock = clock

    def handles(self, change: Change) -> bool:
        return change.action is Action.DELETE_EXPIRED_ROWS

    def serial_key(self, change: Change) -> str:
        return change.address

    def apply(self, change: Change) -> Outcome:
        ops = [op for op in change.operations if isinstance(op, DeleteExpiredRows)]
        if len(ops) != 1:
            raise PermanentError(f"{change.address}: a retention line carries one operation")
        op = ops[0]
        started = time.monotonic()
        if not self._still_owned(change.address):
            raise PermanentError("the table is no longer owned by this reconciler: not deleted")
        table = self._catalogs.get(op.catalog).load_table((*op.namespace, op.name))
        cutoff = cutoff_of(self._clock(), op.older_than_seconds)
        try:
            row_filter = expired_filter(table, op.column, cutoff)
        except ValueError as exc:
            raise PermanentError(f"retention: {exc}") from None
        count = count_expired(table, op.column, cutoff)
        limit = allowed_rows(op.previewed_rows)
        if count > limit:
            raise PermanentError(
                f"{count:,} rows with {op.column} before {cutoff.isoformat(timespec='seconds')}, "
                f"the plan previewed {op.previewed_rows:,} (at most {limit:,} allowed): "
                "not deleted; plan again to review the new count"
            )
        if count:
            table.delete(delete_filter=row_filter)
        log.info("retention.done", table=change.address, column=op.column, rows=count)
        return Outcome(
            change.address,
            change.action,
            Status.APPLIED,
            f"deleted {count:,} rows with {op.column} before "
            f"{cutoff.isoformat(timespec='seconds')} (previewed {op.previewed_rows:,})",
            seconds=time.monotonic() - started,
            result=(("rows", count), ("cutoff", cutoff.isoformat(timespec="seconds"))),
        )
