"""Write side of Iceberg: IcebergApplier replays one plan line's operations as one pyiceberg
transaction, after re-checking the line's preconditions against a fresh load; it never sees
a spec and never decides what to change."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TypeVar

import structlog
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, TableAlreadyExistsError
from pyiceberg.table import Table, Transaction

from reconciler.apply.errors import PermanentError, PreconditionFailed, TransientError
from reconciler.apply.retry import RetryPolicy
from reconciler.model.tables import MANAGED_BY_PROPERTY, MANAGED_BY_VALUE
from reconciler.plan.change import Action, Change, JSONValue, is_adoption
from reconciler.plan.table_operations import preconditions
from reconciler.plan.table_ops import CreateTable, DropTable, OpKind, TableOp, table_identity
from reconciler.providers.iceberg.catalog import Catalogs, mask
from reconciler.providers.iceberg.hive_locks import TableLockedError
from reconciler.providers.iceberg.replay import apply_ops, set_partition, set_sort
from reconciler.providers.iceberg.types import iceberg_schema, observed_table
from reconciler.report.outcome import Outcome, Status

log = structlog.get_logger(__name__)


class IcebergApplier:
    """Applies `create`, `update` (adoption included) and `delete` lines for `table/...`
    addresses (apply.ports.Applier) from their operations alone."""

    def __init__(
        self,
        catalogs: Catalogs,
        commit_retries: int = 3,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._catalogs = catalogs
        # This applier owns the retry of commit conflicts: each attempt re-loads the table
        # and re-checks the plan's preconditions (the executor retries nothing).
        self._retry = retry or RetryPolicy(attempts=max(1, commit_retries), base=0.1, cap=2.0)
        # Tables of one new namespace are created in parallel; the SQL catalog does not
        # turn the duplicate namespace insert into "already exists", so create it once.
        self._namespace_lock = threading.Lock()

    def handles(self, change: Change) -> bool:
        return change.address.startswith("table/") and change.action in (
            Action.CREATE,
            Action.UPDATE,
            Action.DELETE,
        )

    def serial_key(self, change: Change) -> str:
        return change.address

    def apply(self, change: Change) -> Outcome:
        try:
            target = _Target.of(change)
        except ValueError as exc:
            raise PermanentError(f"{change.address}: {exc}") from None
        started = time.monotonic()
        try:
            catalog = self._catalogs.get(target.catalog)
            if change.action is Action.CREATE:
                table = self._create(catalog, target, _only(change, CreateTable))
            elif change.action is Action.DELETE:
                _only(change, DropTable)
                return self._drop(catalog, target, change, started)
            elif is_adoption(change):
                table = self._retry.call(
                    f"adopt {change.address}", lambda: self._adopt(catalog, target, change)
                )
            else:
                ops = _table_ops(change)
                table = self._retry.call(
                    f"commit {change.address}",
                    lambda: self._update(catalog, target, change, ops),
                )
        except (PreconditionFailed, PermanentError, TransientError):
            raise
        except Exception as exc:  # pyiceberg validation or driver errors; mask secrets
            message = mask(f"{type(exc).__name__}: {exc}", self._catalogs.secrets(target.catalog))
            raise PermanentError(f"{change.address}: {message}") from None
        meta = table.metadata
        result: tuple[tuple[str, JSONValue], ...] = (
            ("schema_id", meta.current_schema_id),
            ("spec_id", meta.default_spec_id),
            ("sort_order_id", meta.default_sort_order_id),
        )
        log.info("iceberg.applied", address=change.address, action=change.action.value)
        return Outcome(
            change.address,
            change.action,
            Status.APPLIED,
            seconds=time.monotonic() - started,
            result=result,
        )

    def _load_checked(self, catalog: Catalog, target: _Target, change: Change) -> Table:
        """The table as it is now, if it still matches every precondition of the line."""
        table = catalog.load_table(target.identifier)
        observed = observed_table(target.catalog, table)
        now: dict[str, JSONValue] = dict(preconditions(observed))
        now[MANAGED_BY_PROPERTY] = dict(observed.properties).get(MANAGED_BY_PROPERTY)
        for key, expected in change.preconditions:
            if key in now and now[key] != expected:
                raise PreconditionFailed(
                    f"{change.address}: {key} is {now[key]}, the plan saw {expected}: re-plan"
                )
        return table

    def _drop(self, catalog: Catalog, target: _Target, change: Change, started: float) -> Outcome:
        """Drop (never purge) an owned table that still looks as planned."""
        if dict(change.options).get("allow_destructive") is not True:
            raise PermanentError(f"{change.address}: a drop line needs allow_destructive")
        table = self._load_checked(catalog, target, change)
        if not observed_table(target.catalog, table).owned:
            raise PreconditionFailed(f"{change.address} is no longer owned by the reconciler")
        location = table.metadata.location
        catalog.drop_table(target.identifier)  # catalog entry only: files are kept
        log.info("iceberg.dropped", address=change.address, location=location)
        return Outcome(
            change.address,
            change.action,
            Status.APPLIED,
            f"dropped from the catalog; files kept at {location}",
            seconds=time.monotonic() - started,
        )

    def _adopt(self, catalog: Catalog, target: _Target, change: Change) -> Table:
        """`reconcile adopt`: set only the ownership property, if the table is as planned."""
        marker = TableOp(OpKind.SET_PROPERTY, path=(MANAGED_BY_PROPERTY,), value=MANAGED_BY_VALUE)
        if change.operations != (marker,):
            raise PermanentError(f"{change.address}: an adopt line sets only {MANAGED_BY_PROPERTY}")
        table = catalog.load_table(target.identifier)
        if observed_table(target.catalog, table).owned:
            return table  # a retried commit that had gone through
        table = self._load_checked(catalog, target, change)
        tx = table.transaction()
        tx.set_properties({MANAGED_BY_PROPERTY: MANAGED_BY_VALUE})
        try:
            return _commit(tx, change.address, target.catalog)
        except CommitFailedException as exc:  # someone committed meanwhile: adopt again
            raise TransientError(f"{change.address}: commit conflict: {exc}") from None

    def _create(self, catalog: Catalog, target: _Target, op: CreateTable) -> Table:
        with self._namespace_lock:
            catalog.create_namespace_if_not_exists(target.namespace)
        properties = dict(op.properties)
        properties["format-version"] = str(op.format_version)
        address = target.address
        try:
            tx = catalog.create_table_transaction(
                target.identifier,
                schema=iceberg_schema(op.columns),
                location=op.location,
                properties=properties,
            )
        except TableAlreadyExistsError:
            raise PreconditionFailed(f"{address} appeared since the plan") from None
        set_partition(tx, op.partition_by)
        set_sort(tx, op.sort_by)
        try:
            return _commit(tx, address, target.catalog)
        except (CommitFailedException, TableAlreadyExistsError):
            landed = _our_create(catalog, target, str(tx.table_metadata.table_uuid))
            if landed is not None:
                return landed
            raise PreconditionFailed(f"{address} appeared since the plan") from None

    def _update(
        self, catalog: Catalog, target: _Target, change: Change, ops: tuple[TableOp, ...]
    ) -> Table:
        """One attempt: load, re-check the preconditions, replay the operations, commit; a
        conflict is a TransientError (the next attempt re-checks against the new table)."""
        table = self._load_checked(catalog, target, change)
        if not observed_table(target.catalog, table).owned:
            raise PreconditionFailed(f"{change.address} is no longer owned by the reconciler")
        tx = table.transaction()
        apply_ops(tx, ops, any(op.destructive for op in ops))
        try:
            return _commit(tx, change.address, target.catalog)
        except CommitFailedException as exc:
            raise TransientError(f"{change.address}: commit conflict: {exc}") from None


@dataclass(frozen=True)
class _Target:
    """Which table a line names: its catalog, namespace and name, from the address."""

    address: str
    catalog: str
    namespace: tuple[str, ...]
    name: str

    @property
    def identifier(self) -> tuple[str, ...]:
        return (*self.namespace, self.name)

    @classmethod
    def of(cls, change: Change) -> _Target:
        return cls(change.address, *table_identity(change.address))


_Op = TypeVar("_Op", CreateTable, DropTable)


def _only(change: Change, kind: type[_Op]) -> _Op:
    """The line's single operation, which must be a `kind`."""
    ops = change.operations
    if len(ops) != 1 or not isinstance(ops[0], kind):
        raise PermanentError(
            f"{change.address}: a {change.action.value} line carries exactly one "
            f"{kind.__name__} operation, this one has {[type(o).__name__ for o in ops]}"
        )
    return ops[0]


def _table_ops(change: Change) -> tuple[TableOp, ...]:
    """An update line's steps, refused as a whole if one cannot run as planned."""
    ops = change.operations
    if not ops:
        raise PermanentError(f"{change.address}: the update line carries no operations")
    steps = tuple(op for op in ops if isinstance(op, TableOp))
    if len(steps) != len(ops):
        raise PermanentError(f"{change.address}: an update line carries table steps only")
    if any(op.impossible for op in steps):
        raise PermanentError(f"{change.address}: the plan line holds an impossible step")
    if any(op.destructive for op in steps) and (
        dict(change.options).get("allow_destructive") is not True
    ):
        raise PermanentError(f"{change.address}: destructive steps without allow_destructive")
    return steps


def _our_create(catalog: Catalog, target: _Target, table_uuid: str) -> Table | None:
    """The table, when "already exists" answers our own create: a metastore that retries a
    create internally (Hive's RetryingHMSHandler, after a database deadlock under parallel
    creates) reports the first attempt's table as existing. Its UUID is the one our
    transaction wrote, which no other writer can have."""
    try:
        table = catalog.load_table(target.identifier)
    except Exception:  # gone again, or unreadable: not provably ours
        return None
    return table if str(table.metadata.table_uuid) == table_uuid else None


def _commit(tx: Transaction, address: str, catalog: str) -> Table:
    """Commit; a table locked in the metastore fails for good (waiting would not help)."""
    try:
        return tx.commit_transaction()
    except TableLockedError as exc:
        raise PermanentError(exc.explain(address, catalog)) from None
