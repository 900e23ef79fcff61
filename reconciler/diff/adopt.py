"""Adoption plan: which requested resources `reconcile adopt` marks as ours; pure, no I/O.

Adoption only adds the ownership marker (the PVE tag or the table property) and
nothing else; the next plan shows any drift as ordinary lines. Each line carries
the preconditions the applier re-checks, so a resource that changed since the
plan is never marked blind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from reconciler.model.containers import OWNER_TAG, ContainerSpec, GuestSummary, ObservedContainer
from reconciler.model.desired import Desired
from reconciler.model.tables import (
    MANAGED_BY_PROPERTY,
    MANAGED_BY_VALUE,
    TableInventory,
    TableSpec,
)
from reconciler.plan.change import Action, Change, FieldChange, JSONValue
from reconciler.plan.container_ops import AddTags
from reconciler.plan.table_operations import preconditions as table_preconditions
from reconciler.plan.table_ops import OpKind, TableOp

ADOPT_OPTION: tuple[tuple[str, JSONValue], ...] = (("adopt", True),)
Note = tuple[str, str]


class ContainerView(Protocol):
    """What adoption reads of a container inventory (observe.containers.ContainerInventory)."""

    @property
    def guests(self) -> tuple[GuestSummary, ...]: ...

    @property
    def observed(self) -> Mapping[int, ObservedContainer]: ...


class UnknownAddress(ValueError):
    """A requested address that no spec names: nothing may be adopted for it."""


def unknown_targets(targets: Iterable[str], desired: Desired) -> tuple[str, ...]:
    """Requested addresses that no container or table spec names, in request order."""
    known = {item.address for item in desired.resources}
    return tuple(dict.fromkeys(t for t in targets if t not in known))


def plan_adoption(
    targets: Sequence[str],
    desired: Desired,
    container_inventory: ContainerView | None,
    table_inventory: TableInventory | None,
) -> tuple[Change, ...]:
    """One line per requested resource that is not ours yet: `update` (adopt) or `refuse`.

    Already-owned resources give no line (see `adoption_notes`). Raises
    UnknownAddress when a target is named by no spec.
    """
    return tuple(
        c
        for c in _decide(targets, desired, container_inventory, table_inventory)
        if isinstance(c, Change)
    )


def adoption_notes(
    targets: Sequence[str],
    desired: Desired,
    container_inventory: ContainerView | None,
    table_inventory: TableInventory | None,
) -> tuple[Note, ...]:
    """(address, reason) for requested resources that are already ours: nothing to do."""
    return tuple(
        n
        for n in _decide(targets, desired, container_inventory, table_inventory)
        if not isinstance(n, Change)
    )


def _decide(
    targets: Sequence[str],
    desired: Desired,
    containers: ContainerView | None,
    tables: TableInventory | None,
) -> list[Change | Note]:
    missing = unknown_targets(targets, desired)
    if missing:
        raise UnknownAddress("no spec names " + ", ".join(missing))
    by_address: dict[str, ContainerSpec | TableSpec] = {
        item.address: item for item in desired.resources
    }
    out: list[Change | Note] = []
    for address in dict.fromkeys(targets):
        spec = by_address[address]
        if isinstance(spec, ContainerSpec):
            out.append(_container(spec, containers))
        else:
            out.append(_table(spec, tables))
    return out


def _refuse(address: str, reason: str, *pre: tuple[str, int | str]) -> Change:
    return Change(address, Action.REFUSE, reason, preconditions=tuple(pre))


def _container(spec: ContainerSpec, inventory: ContainerView | None) -> Change | Note:
    vmid = spec.vmid
    if inventory is None:
        return _refuse(spec.address, "containers were not observed; nothing to adopt")
    guest = next((g for g in inventory.guests if g.vmid == vmid), None)
    observed = inventory.observed.get(vmid)
    if guest is None and observed is None:
        return _refuse(
            spec.address,
            f"nothing to adopt: CT {vmid} does not exist; `apply` creates it",
            ("vmid", vmid),
        )
    if guest is not None and guest.kind != "lxc":
        return _refuse(
            spec.address,
            f"vmid {vmid} is a {guest.kind} VM ({guest.name!r} on node "
            f"{guest.node}), not a container: it cannot be adopted",
            ("vmid", vmid),
        )
    if (guest is not None and guest.owned) or (observed is not None and observed.owned):
        return (spec.address, f"CT {vmid} already carries {OWNER_TAG}: nothing to adopt")
    if observed is None:
        return _refuse(
            spec.address,
            f"CT {vmid} exists but its config was not read; run adopt again",
            ("vmid", vmid),
        )
    where = (("vmid", vmid), ("node", observed.node))
    if observed.lock:
        return Change(
            spec.address,
            Action.DEFERRED,
            f"CT {vmid} is locked ({observed.lock}); run adopt again when the lock is gone",
            preconditions=where,
        )
    if observed.template:
        return _refuse(
            spec.address,
            f"CT {vmid} is a template, not a container the spec can run: it cannot be adopted",
            *where,
        )
    before: list[JSONValue] = list(observed.settings.tags)
    return Change(
        spec.address,
        Action.UPDATE,
        f"adopt: mark CT {vmid} as managed by the reconciler; nothing else changes",
        fields=(FieldChange("tags", before, [*before, OWNER_TAG]),),
        preconditions=(("digest", observed.digest), *where),
        options=ADOPT_OPTION,
        operations=(AddTags((OWNER_TAG,), observed.settings.tags),),
    )


def _table(spec: TableSpec, inventory: TableInventory | None) -> Change | Note:
    if inventory is None:
        return _refuse(spec.address, "no catalog is configured or observed; nothing to adopt")
    failed = dict(inventory.errors)
    if spec.catalog in failed:
        return _refuse(
            spec.address, f"catalog {spec.catalog} could not be read: {failed[spec.catalog]}"
        )
    table = inventory.table(spec.address)
    if table is None:
        return _refuse(
            spec.address,
            f"nothing to adopt: table {spec.identifier} does not exist; `apply` creates it",
        )
    if table.owned:
        return (
            spec.address,
            f"table {spec.identifier} already has "
            f"{MANAGED_BY_PROPERTY}={MANAGED_BY_VALUE}: nothing to adopt",
        )
    reason = (
        f"adopt: mark table {spec.identifier} as managed by the reconciler; nothing else changes"
    )
    if spec.absent:
        reason += " (the spec says absent: once owned, `apply` may drop it with both opt-ins)"
    before = dict(table.properties).get(MANAGED_BY_PROPERTY)
    return Change(
        spec.address,
        Action.UPDATE,
        reason,
        fields=(FieldChange(f"properties.{MANAGED_BY_PROPERTY}", before, MANAGED_BY_VALUE),),
        # The marker's current value is checked too: someone else may claim the table meanwhile.
        preconditions=(*table_preconditions(table), (MANAGED_BY_PROPERTY, before)),
        options=ADOPT_OPTION,
        operations=(
            TableOp(OpKind.SET_PROPERTY, path=(MANAGED_BY_PROPERTY,), value=MANAGED_BY_VALUE),
        ),
    )
