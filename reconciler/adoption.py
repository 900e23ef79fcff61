"""`reconcile adopt` as a pipeline step: observe only the requested resources, then the pure
adoption decision (diff.adopt); applying goes through the engine's executor like any plan."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.deps import Deps
from reconciler.diff.adopt import UnknownAddress, adoption_notes, plan_adoption, unknown_targets
from reconciler.diff.planner import make_plan
from reconciler.engine import Planned
from reconciler.model.desired import Desired

__all__ = ["UnknownAddress", "make_adoption_plan", "unknown_targets"]


def make_adoption_plan(desired: Desired, targets: Sequence[str], deps: Deps) -> Planned:
    """The adoption plan for `targets` (addresses every one of which a spec names).

    Containers are observed only for the requested specs (one inventory call plus
    one config read each); tables through the usual catalog inventory. Raises
    diff.adopt.UnknownAddress for an address no spec names, before any observation.
    """
    missing = unknown_targets(targets, desired)
    if missing:
        raise UnknownAddress("no spec names " + ", ".join(missing))
    wanted = set(targets)
    containers = tuple(s for s in desired.containers if s.address in wanted)
    tables = tuple(t for t in desired.tables if t.address in wanted)
    container_inventory = None
    if containers and deps.observe_containers is not None:
        container_inventory = deps.observe_containers(containers)
    table_inventory = None
    if tables and deps.observe_tables is not None:
        table_inventory = deps.observe_tables(tables)
    changes = plan_adoption(targets, desired, container_inventory, table_inventory)
    notes = adoption_notes(targets, desired, container_inventory, table_inventory)
    return Planned(desired, make_plan(changes, {}), notes)
