"""Plan lines for Iceberg tables: desired TableSpecs vs an observed TableInventory; pure.

Safe evolution becomes `update`; destructive steps become `refuse` unless the
spec opts in (allowDestructive) and the caller passes allow_destructive;
steps Iceberg cannot do at all are always refused. A table with any refused
step is left entirely unchanged, so a half-applied evolution never happens.
"""

from __future__ import annotations

from reconciler.model.containers import DriftMode
from reconciler.model.tables import (
    MANAGED_BY_PROPERTY,
    MANAGED_BY_VALUE,
    ObservedTable,
    TableInventory,
    TableSpec,
)
from reconciler.plan.change import Action, Change, FieldChange, JSONValue
from reconciler.plan.table_operations import (
    partition_text,
    preconditions,
    sort_text,
    table_operations,
)
from reconciler.plan.table_ops import CreateTable, DropTable, TableOp, column_doc


def plan_tables(
    desired: tuple[TableSpec, ...], observed: TableInventory, allow_destructive: bool
) -> tuple[Change, ...]:
    """One Change per table that needs one, sorted by address; deterministic."""
    failed = {catalog for catalog, _ in observed.errors}
    tables = {t.address: t for t in observed.tables}
    namespaces = set(observed.namespaces)
    changes: list[Change] = []
    for spec in sorted(desired, key=lambda s: s.address):
        if spec.catalog in failed:
            continue
        table = tables.get(spec.address)
        if spec.absent:
            if table is not None:
                changes.append(_drop(spec, table, allow_destructive))
        elif table is None:
            changes.append(_create(spec, (spec.catalog, spec.namespace) in namespaces))
        elif not table.owned:
            changes.append(
                Change(
                    spec.address,
                    Action.CONFLICT,
                    "table exists but was not created by the reconciler "
                    "(no reconciler.managed-by property): reported, never changed",
                    depends_on=spec.depends_on,
                )
            )
        else:
            change = _update(spec, table, allow_destructive)
            if change is not None:
                changes.append(change)
    wanted = {s.address for s in desired}
    for table in sorted(observed.tables, key=lambda t: t.address):
        if table.owned and table.address not in wanted and table.catalog not in failed:
            changes.append(
                Change(
                    table.address,
                    Action.ORPHAN,
                    "owned by the reconciler but in no spec: left in place, "
                    "never dropped automatically",
                    preconditions=preconditions(table),
                )
            )
    return tuple(sorted(changes, key=lambda c: c.address))


def unknown_tables(
    desired: tuple[TableSpec, ...], errors: tuple[tuple[str, str], ...]
) -> tuple[Change, ...]:
    """An `unknown` line, with the catalog's error, for each table of an unreadable catalog:
    nothing is planned for it (no create, no maintenance) until the catalog answers."""
    failed = dict(errors)
    return tuple(
        Change(
            spec.address,
            Action.UNKNOWN,
            f"catalog {spec.catalog} could not be read: {failed[spec.catalog]}",
            depends_on=spec.depends_on,
        )
        for spec in sorted(desired, key=lambda s: s.address)
        if spec.catalog in failed
    )


def _drop(spec: TableSpec, table: ObservedTable, allow_destructive: bool) -> Change:
    """`state: absent`: drop only an owned table, only with both opt-ins; never purge files."""
    fields = (FieldChange("state", "present", "absent"),)
    if not table.owned:
        return Change(
            spec.address,
            Action.CONFLICT,
            "spec says absent, but the table was not "
            "created by the reconciler: reported, never dropped",
            fields,
            spec.depends_on,
        )
    missing = _missing_opt_ins(spec, allow_destructive)
    if missing:
        return Change(
            spec.address,
            Action.REFUSE,
            "refused, destructive (needs " + " and ".join(missing) + "): dropping a table",
            fields,
            spec.depends_on,
            preconditions(table),
        )
    return Change(
        spec.address,
        Action.DELETE,
        "spec says absent: drop the table from the catalog; "
        "its data and metadata files stay in the warehouse (not purged)",
        fields,
        spec.depends_on,
        preconditions(table),
        (("allow_destructive", True),),
        (DropTable(),),
    )


def _missing_opt_ins(spec: TableSpec, allow_destructive: bool) -> list[str]:
    """Both the spec and the command line must opt in to a destructive step."""
    return [
        name
        for name, given in (
            ("allowDestructive: true in the spec", spec.allow_destructive),
            ("--allow-destructive", allow_destructive),
        )
        if not given
    ]


def _create(spec: TableSpec, namespace_exists: bool) -> Change:
    fields: list[FieldChange] = []
    if not namespace_exists:
        fields.append(FieldChange("namespace", None, ".".join(spec.namespace)))
    fields.extend(FieldChange(f"schema.{c.name}", None, column_doc(c)) for c in spec.fields)
    if spec.partition_by:
        fields.append(FieldChange("partitionBy", None, partition_text(spec.partition_by)))
    if spec.sort_by:
        fields.append(FieldChange("sortBy", None, sort_text(spec.sort_by)))
    fields.extend(FieldChange(f"properties.{k}", None, v) for k, v in spec.properties)
    fields.append(FieldChange("formatVersion", None, spec.format_version))
    if spec.location:
        fields.append(FieldChange("location", None, spec.location))
    where = (
        "" if namespace_exists else f" in new namespace {spec.catalog}.{'.'.join(spec.namespace)}"
    )
    return Change(
        spec.address,
        Action.CREATE,
        f"table absent: create it{where}, marked as managed by the reconciler",
        fields=tuple(fields),
        depends_on=spec.depends_on,
        operations=(create_operation(spec),),
    )


def create_operation(spec: TableSpec) -> CreateTable:
    """The whole new table as data: the spec's properties plus our ownership marker."""
    properties = dict(spec.properties)
    properties[MANAGED_BY_PROPERTY] = MANAGED_BY_VALUE
    return CreateTable(
        columns=spec.fields,
        partition_by=spec.partition_by,
        sort_by=spec.sort_by,
        properties=tuple(sorted(properties.items())),
        location=spec.location,
        format_version=spec.format_version,
    )


def _update(spec: TableSpec, table: ObservedTable, allow_destructive: bool) -> Change | None:
    ops = table_operations(spec, table)
    if not ops or spec.drift is DriftMode.IGNORE:
        return None
    fields = tuple(op.change for op in ops)
    pre = preconditions(table)
    blocked = [op for op in ops if op.impossible]
    risky = [op for op in ops if op.destructive]
    if blocked:
        reason = "refused, impossible in Iceberg: " + "; ".join(op.why for op in blocked)
        return Change(
            spec.address, Action.REFUSE, reason + _held(ops, blocked), fields, spec.depends_on, pre
        )
    missing = _missing_opt_ins(spec, allow_destructive)
    if risky and missing:
        reason = f"refused, destructive (needs {' and '.join(missing)}): " + "; ".join(
            op.why for op in risky
        )
        return Change(
            spec.address, Action.REFUSE, reason + _held(ops, risky), fields, spec.depends_on, pre
        )
    options: tuple[tuple[str, JSONValue], ...] = (("allow_destructive", True),) if risky else ()
    reason = "; ".join(("DESTRUCTIVE, allowed: " if op.destructive else "") + op.why for op in ops)
    return Change(spec.address, Action.UPDATE, reason, fields, spec.depends_on, pre, options, ops)


def _held(ops: tuple[TableOp, ...], refused: list[TableOp]) -> str:
    rest = len(ops) - len(refused)
    return f"; {rest} safe change(s) held back so the table is not half-evolved" if rest else ""
