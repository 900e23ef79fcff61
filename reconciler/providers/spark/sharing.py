"""Which tables of a plan share the run's one Spark application, and which wait there.

A table with maintenance lines shares it. One whose maintenance must wait for an earlier
line of its own (a retention delete, a schema change) is gated: it starts there when its
maintain line is applied. One whose lines wait for another resource of the plan (dependsOn
a container being created, say) runs alone when its turn comes, so the application never
idles through that. Backup lines run after the maintenance and hold nothing up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.plan.change import BACKUP_ACTIONS, MAINTENANCE_ACTIONS, Change
from reconciler.plan.maintenance_ops import expand


@dataclass(frozen=True)
class Sharing:
    tables: Mapping[str, tuple[Change, ...]]  # address -> its maintenance lines, plan order
    gated: frozenset[str]


def shared_tables(plan: Sequence[Change]) -> Sharing:
    """The tables of `plan` (its executable lines) in the shared application."""
    addresses = {c.address for c in plan}
    lines: dict[str, list[Change]] = {}
    gated: set[str] = set()
    alone: set[str] = set()
    for change in plan:
        if any(d in addresses and d != change.address for d in change.depends_on):
            alone.add(change.address)
        if change.action in MAINTENANCE_ACTIONS:
            lines.setdefault(change.address, []).extend(expand(change))
        elif change.action not in BACKUP_ACTIONS:
            gated.add(change.address)
    tables = {a: tuple(ls) for a, ls in lines.items() if a not in alone}
    return Sharing(tables, frozenset(gated & tables.keys()))
