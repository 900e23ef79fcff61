"""Plan options and deterministic ordering of changes by dependsOn; pure, no I/O."""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from graphlib import CycleError, TopologicalSorter

from reconciler.model.containers import OWNER_TAG, GuestSummary, ObservedContainer
from reconciler.plan.change import Action, Change, FieldChange, Plan
from reconciler.plan.container_ops import Delete


@dataclass(frozen=True)
class PlanOptions:
    """Switches that change what a plan may contain (from CLI flags and the config)."""

    prune: bool = False  # --prune given AND config allows prune
    max_deletions: int = 1
    allow_destructive: bool = False
    privileged_api: bool = False  # True with the `local` backend (root@pam); False with a token
    default_node: str = "pve"
    allow_restart: bool = False  # `apply --allow-restart`: reboot whatever the spec's `restart`
    now: datetime | None = None  # the cycle's clock, for `restart: window`; None: window closed


# Lines of one resource run in this order: config first, then disks, then power.
_ACTION_RANK = {
    action: rank
    for rank, action in enumerate(
        (
            Action.CREATE,
            Action.UPDATE,
            Action.RESIZE,
            Action.RESTART,
            Action.START,
            Action.PROVISION,
            Action.AWAIT,
            Action.STOP,
            Action.DELETE,
            Action.DELETE_EXPIRED_ROWS,
            Action.MAINTAIN,  # a table's procedure calls, after its retention line
            Action.BACKUP,
            Action.DEFERRED,
            Action.UNKNOWN,
            Action.REFUSE,
            Action.CONFLICT,
            Action.ORPHAN,
            Action.UNREADY,
        )
    )
}


def action_rank(action: Action) -> int:
    return _ACTION_RANK[action]


def _line_key(change: Change) -> tuple[str, int, str, str, str]:
    """Address, action, then content: the input order of changes never matters."""
    paths = "\n".join(f.path for f in change.fields)
    return (change.address, _ACTION_RANK[change.action], paths, change.reason, repr(change))


def _address_order(
    addresses: Iterable[str], depends: Mapping[str, tuple[str, ...]]
) -> dict[str, int]:
    """A topological order (graphlib) taking the smallest ready address first: dependencies
    first, then by address.

    Addresses without changes stay in the graph so that order holds transitively;
    a cycle (rejected by validation) releases its smallest unordered member and goes on.
    """
    nodes = set(addresses)
    for source, targets in depends.items():
        nodes.add(source)
        nodes.update(targets)
    blockers: dict[str, set[str]] = {node: set() for node in nodes}
    for source, targets in depends.items():
        blockers[source].update(t for t in targets if t != source)
    order: dict[str, int] = {}
    while len(order) < len(nodes):
        left = {n: {b for b in blockers[n] if b not in order} for n in nodes if n not in order}
        sorter = TopologicalSorter(left)
        with contextlib.suppress(CycleError):  # what the cycle does not block still sorts
            sorter.prepare()
        ready = list(sorter.get_ready())
        heapq.heapify(ready)
        if not ready:  # every node left waits on a cycle: release the smallest
            order[min(left)] = len(order)
            continue
        while ready:
            node = heapq.heappop(ready)
            order[node] = len(order)
            sorter.done(node)
            for released in sorter.get_ready():
                heapq.heappush(ready, released)
    return order


def order_changes(
    changes: Iterable[Change], depends: Mapping[str, tuple[str, ...]]
) -> tuple[Change, ...]:
    """Topological by dependsOn (unknown targets only order nothing), then address,
    then action; stable and deterministic for equal inputs."""
    items = list(changes)
    merged: dict[str, set[str]] = {}
    for address, targets in depends.items():
        merged.setdefault(address, set()).update(targets)
    for change in items:
        merged.setdefault(change.address, set()).update(change.depends_on)
    graph = {address: tuple(sorted(targets)) for address, targets in merged.items()}
    position = _address_order((c.address for c in items), graph)
    return tuple(sorted(items, key=lambda c: (position[c.address], *_line_key(c))))


def make_plan(changes: Iterable[Change], depends: Mapping[str, tuple[str, ...]]) -> Plan:
    """One Plan from the changes of every kind (containers, tables, maintenance)."""
    return Plan(changes=order_changes(changes, depends))


def _unclaimed_address(guest: GuestSummary, taken: set[str]) -> str:
    """`container/<name>`, or `container/<name>@<vmid>` when a spec or another CT has the name."""
    address = f"container/{guest.name}"
    if not guest.name or address in taken:
        address = f"container/{guest.name or 'ct'}@{guest.vmid}"
    taken.add(address)
    return address


def plan_unclaimed(
    guests: Iterable[GuestSummary],
    observed: Mapping[int, ObservedContainer],
    claimed: set[int],
    desired_names: set[str],
    desired_any: bool,
    options: PlanOptions,
) -> tuple[Change, ...]:
    """Owned CTs no spec names: `orphan`, or with prune `delete` behind the prune guards."""
    candidates = []
    for guest in sorted(guests, key=lambda g: g.vmid):
        seen = observed.get(guest.vmid)
        owned = guest.owned or (seen is not None and seen.owned)
        if guest.kind == "lxc" and owned and guest.vmid not in claimed:
            candidates.append((guest, seen))
    taken = {f"container/{name}" for name in desired_names}
    names = {g.vmid: _unclaimed_address(g, taken) for g, _ in candidates}
    if not options.prune:
        return tuple(
            Change(
                names[g.vmid],
                Action.ORPHAN,
                f"CT {g.vmid} on node {g.node} carries {OWNER_TAG} but no spec names it; "
                "run with --prune to delete it",
                preconditions=(("vmid", g.vmid),),
            )
            for g, _ in candidates
        )
    changes: list[Change] = []
    deletable: list[tuple[GuestSummary, ObservedContainer]] = []
    for guest, seen in candidates:
        ident = (("vmid", guest.vmid), ("node", guest.node))
        lock = (seen.lock if seen is not None else None) or guest.lock
        if lock:
            changes.append(
                Change(
                    names[guest.vmid],
                    Action.DEFERRED,
                    f"CT {guest.vmid} is locked ({lock}); will retry next cycle",
                    preconditions=ident,
                )
            )
        elif seen is None:
            changes.append(
                Change(
                    names[guest.vmid],
                    Action.REFUSE,
                    f"CT {guest.vmid} was not read; not deleting it blind",
                    preconditions=ident,
                )
            )
        elif seen.settings.protection:
            changes.append(
                Change(
                    names[guest.vmid],
                    Action.REFUSE,
                    f"CT {guest.vmid} has protection set; PVE forbids deleting it",
                    (FieldChange("protection", True, True),),
                    (),
                    ident,
                )
            )
        else:
            deletable.append((guest, seen))
    guard = ""
    if deletable and not desired_any:
        guard = "the desired set is empty (a broken checkout?); refusing to delete everything"
    elif len(deletable) > options.max_deletions:
        guard = (
            f"{len(deletable)} deletions exceed max_deletions={options.max_deletions}; "
            "raise the limit to delete them"
        )
    for guest, seen in deletable:
        precond = (("digest", seen.digest), ("vmid", guest.vmid), ("node", seen.node))
        fields = (
            FieldChange("vmid", guest.vmid, None),
            FieldChange("hostname", seen.settings.hostname, None),
        )
        if guard:
            changes.append(
                Change(
                    names[guest.vmid],
                    Action.REFUSE,
                    f"delete refused: {guard}",
                    fields,
                    (),
                    precond,
                )
            )
        else:
            reason = f"CT {guest.vmid} carries {OWNER_TAG} but no spec names it; --prune deletes it"
            gone = (Delete(guest.vmid),)
            changes.append(
                Change(names[guest.vmid], Action.DELETE, reason, fields, (), precond, (), gone)
            )
    return tuple(changes)
