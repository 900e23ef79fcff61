"""Write side of Iceberg: IcebergApplier runs one plan line as one pyiceberg transaction,
after re-checking the plan's preconditions against a fresh load; never decides what to change."""

from __future__ import annotations

import threading
import time

import structlog
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, TableAlreadyExistsError
from pyiceberg.table import Table, Transaction
from pyiceberg.table.update.schema import UpdateSchema
from pyiceberg.transforms import parse_transform

from reconciler.apply.errors import PermanentError, PreconditionFailed, TransientError
from reconciler.apply.retry import RetryPolicy
from reconciler.model.tables import MANAGED_BY_PROPERTY, MANAGED_BY_VALUE, TableSpec
from reconciler.plan.change import Action, Change, JSONValue, is_adoption
from reconciler.plan.table_operations import preconditions, table_operations
from reconciler.plan.table_ops import OpKind, TableOp
from reconciler.providers.iceberg.catalog import Catalogs, mask
from reconciler.providers.iceberg.catalog_classes import TableLockedError
from reconciler.providers.iceberg.types import (
    iceberg_schema,
    iceberg_type,
    model_partition,
    null_order,
    observed_table,
    primitive,
)
from reconciler.report.outcome import Outcome, Status

log = structlog.get_logger(__name__)
_SCHEMA_OPS = {
    OpKind.ADD_COLUMN,
    OpKind.RENAME_COLUMN,
    OpKind.UPDATE_TYPE,
    OpKind.MAKE_OPTIONAL,
    OpKind.MAKE_REQUIRED,
    OpKind.UPDATE_DOC,
    OpKind.DELETE_COLUMN,
    OpKind.MOVE_COLUMNS,
}


class IcebergApplier:
    """Applies `create` and `update` lines for `table/...` addresses (apply.ports.Applier)."""

    def __init__(
        self,
        catalogs: Catalogs,
        desired: tuple[TableSpec, ...],
        commit_retries: int = 3,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._catalogs = catalogs
        self._specs = {s.address: s for s in desired}
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
        spec = self._specs.get(change.address)
        if spec is None:
            raise PermanentError(f"{change.address}: no Table spec in this revision")
        started = time.monotonic()
        try:
            catalog = self._catalogs.get(spec.catalog)
            if change.action is Action.CREATE:
                table = self._create(catalog, spec)
            elif change.action is Action.DELETE:
                return self._drop(catalog, spec, change, started)
            elif is_adoption(change):
                table = self._retry.call(
                    f"adopt {spec.address}", lambda: self._adopt(catalog, spec, change)
                )
            else:
                table = self._retry.call(
                    f"commit {spec.address}", lambda: self._update(catalog, spec, change)
                )
        except (PreconditionFailed, PermanentError, TransientError):
            raise
        except Exception as exc:  # pyiceberg validation or driver errors; mask secrets
            message = mask(f"{type(exc).__name__}: {exc}", self._catalogs.secrets(spec.catalog))
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

    def _drop(self, catalog: Catalog, spec: TableSpec, change: Change, started: float) -> Outcome:
        """Drop (never purge) an owned table that still looks as planned."""
        if not (
            spec.absent and spec.allow_destructive and dict(change.options).get("allow_destructive")
        ):
            raise PermanentError(f"{change.address}: drop needs state: absent and both opt-ins")
        identifier = (*spec.namespace, spec.name)
        observed = observed_table(spec.catalog, catalog.load_table(identifier))
        now = dict(preconditions(observed))
        if not observed.owned or any(now.get(k) != v for k, v in change.preconditions):
            raise PreconditionFailed(f"{spec.address} changed since the plan: re-plan")
        location = observed.location
        catalog.drop_table(identifier)  # catalog entry only: files are kept
        log.info("iceberg.dropped", address=change.address, location=location)
        return Outcome(
            change.address,
            change.action,
            Status.APPLIED,
            f"dropped from the catalog; files kept at {location}",
            seconds=time.monotonic() - started,
        )

    def _adopt(self, catalog: Catalog, spec: TableSpec, change: Change) -> Table:
        """`reconcile adopt`: set only the ownership property, if the table is as planned."""
        if [f.path for f in change.fields] != [f"properties.{MANAGED_BY_PROPERTY}"]:
            raise PermanentError(f"{change.address}: an adopt line sets only {MANAGED_BY_PROPERTY}")
        table = catalog.load_table((*spec.namespace, spec.name))
        observed = observed_table(spec.catalog, table)
        if observed.owned:
            return table  # a retried commit that had gone through
        now = dict(preconditions(observed))
        have = dict(observed.properties).get(MANAGED_BY_PROPERTY)
        if any(now.get(k) != v for k, v in change.preconditions) or have != change.fields[0].before:
            raise PreconditionFailed(f"{spec.address} changed since the plan: re-plan")
        tx = table.transaction()
        tx.set_properties({MANAGED_BY_PROPERTY: MANAGED_BY_VALUE})
        try:
            return _commit(tx, spec)
        except CommitFailedException as exc:  # someone committed meanwhile: adopt again
            raise TransientError(f"{spec.address}: commit conflict: {exc}") from None

    def _create(self, catalog: Catalog, spec: TableSpec) -> Table:
        with self._namespace_lock:
            catalog.create_namespace_if_not_exists(spec.namespace)
        properties = dict(spec.properties)
        properties[MANAGED_BY_PROPERTY] = MANAGED_BY_VALUE
        properties["format-version"] = str(spec.format_version)
        identifier = (*spec.namespace, spec.name)
        try:
            tx = catalog.create_table_transaction(
                identifier,
                schema=iceberg_schema(spec.fields),
                location=spec.location,
                properties=properties,
            )
        except TableAlreadyExistsError:
            raise PreconditionFailed(f"{spec.address} appeared since the plan") from None
        _set_partition(tx, spec)
        _set_sort(tx, spec)
        try:
            return _commit(tx, spec)
        except (CommitFailedException, TableAlreadyExistsError):
            raise PreconditionFailed(f"{spec.address} appeared since the plan") from None

    def _update(self, catalog: Catalog, spec: TableSpec, change: Change) -> Table:
        """One attempt: load, re-check the plan, commit; a conflict is a TransientError."""
        table = catalog.load_table((*spec.namespace, spec.name))
        observed = observed_table(spec.catalog, table)
        now = dict(preconditions(observed))
        for key, expected in change.preconditions:
            if key in now and now[key] != expected:
                raise PreconditionFailed(
                    f"{spec.address}: {key} is {now[key]}, the plan saw {expected}: re-plan"
                )
        if not observed.owned:
            raise PreconditionFailed(f"{spec.address} is no longer owned by the reconciler")
        ops = table_operations(spec, observed)
        if tuple(op.change for op in ops) != change.fields:
            raise PreconditionFailed(f"{spec.address} changed since the plan: re-plan")
        if any(op.impossible for op in ops):
            raise PermanentError(f"{spec.address}: the plan line holds an impossible step")
        destructive = any(op.destructive for op in ops)
        if destructive and dict(change.options).get("allow_destructive") is not True:
            raise PermanentError(f"{spec.address}: destructive steps without allow_destructive")
        tx = table.transaction()
        _apply_ops(tx, spec, ops, destructive)
        try:
            return _commit(tx, spec)
        except CommitFailedException as exc:
            raise TransientError(f"{spec.address}: commit conflict: {exc}") from None


def _commit(tx: Transaction, spec: TableSpec) -> Table:
    """Commit; a table locked in the metastore fails for good (waiting would not help)."""
    try:
        return tx.commit_transaction()
    except TableLockedError as exc:
        raise PermanentError(exc.explain(spec.address, spec.catalog)) from None


def _apply_ops(tx: Transaction, spec: TableSpec, ops: tuple[TableOp, ...], unsafe: bool) -> None:
    schema_ops = [op for op in ops if op.kind in _SCHEMA_OPS]
    if schema_ops:
        with tx.update_schema(allow_incompatible_changes=unsafe) as update:
            for op in schema_ops:
                _schema_op(update, op)
    kinds = {op.kind for op in ops}
    if OpKind.SET_PARTITION in kinds:
        _set_partition(tx, spec)
    if OpKind.SET_SORT in kinds:
        _set_sort(tx, spec)
    updates = {op.path[0]: op.value or "" for op in ops if op.kind is OpKind.SET_PROPERTY}
    if updates:
        tx.set_properties(updates)
    removals = [op.path[0] for op in ops if op.kind is OpKind.REMOVE_PROPERTY]
    if removals:
        tx.remove_properties(*removals)
    if OpKind.UPGRADE_FORMAT in kinds:
        tx.upgrade_table_version(spec.format_version)  # type: ignore[arg-type]


def _schema_op(update: UpdateSchema, op: TableOp) -> None:
    if op.kind is OpKind.ADD_COLUMN:
        assert op.column_type is not None
        update.add_column(op.path, iceberg_type(op.column_type), op.doc, op.required)
    elif op.kind is OpKind.RENAME_COLUMN:
        assert op.new_name is not None
        update.rename_column(op.path, op.new_name)
    elif op.kind is OpKind.UPDATE_TYPE:
        assert op.column_type is not None
        update.update_column(op.path, field_type=primitive(str(op.column_type)))
    elif op.kind is OpKind.MAKE_OPTIONAL:
        update.make_column_optional(op.path)
    elif op.kind is OpKind.MAKE_REQUIRED:
        update.update_column(op.path, required=True)
    elif op.kind is OpKind.UPDATE_DOC:
        update.update_column(op.path, doc=op.doc)
    elif op.kind is OpKind.DELETE_COLUMN:
        update.delete_column(op.path)
    elif op.kind is OpKind.MOVE_COLUMNS:
        first, *rest = op.names
        update.move_first((*op.path, first))
        previous = first
        for name in rest:
            update.move_after((*op.path, name), (*op.path, previous))
            previous = name


def _set_partition(tx: Transaction, spec: TableSpec) -> None:
    """Evolve the partition spec to `spec.partition_by`, against the transaction's schema
    (so renames made earlier in the same transaction are seen)."""
    meta = tx.table_metadata
    have = [f for f in model_partition(meta.spec(), meta.schema()) if f.transform != "void"]
    want = [f for f in spec.partition_by if f.transform != "void"]
    wanted = {(f.source, f.transform): f for f in want}
    present = {(f.source, f.transform): f for f in have}
    with tx.update_spec() as update:
        for key, field in present.items():
            if key not in wanted:
                update.remove_field(field.name or "")
            elif (name := wanted[key].name) and name != field.name:
                update.rename_field(field.name or "", name)
        for key, field in wanted.items():
            if key not in present:
                update.add_field(field.source, parse_transform(field.transform), field.name)


def _set_sort(tx: Transaction, spec: TableSpec) -> None:
    with tx.update_sort_order() as update:
        for f in spec.sort_by:
            add = update.asc if f.direction.value == "asc" else update.desc
            add(f.source, parse_transform(f.transform), null_order(f.nulls))
