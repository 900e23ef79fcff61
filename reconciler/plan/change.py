"""The plan as pure data: a closed Action enum, field changes and changes; no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

JSONScalar = str | int | float | bool | None
JSONValue = JSONScalar | list["JSONValue"] | dict[str, "JSONValue"]


class Action(str, Enum):
    """What one plan line does. Order here is the display order within a resource."""

    CREATE = "create"
    UPDATE = "update"  # applies live
    RESTART = "restart"  # accepted by PVE, pending until the CT restarts
    RESIZE = "resize"  # grow a disk
    START = "start"
    STOP = "stop"
    DELETE = "delete"  # only with --prune
    REFUSE = "refuse"  # never executed
    ORPHAN = "orphan"  # owned, no longer in specs: reported only
    CONFLICT = "conflict"  # exists but not ours: reported, never touched
    DELETE_EXPIRED_ROWS = "delete_expired_rows"  # retention: rows older than the policy's age
    MAINTAIN = "maintain"  # one table's due Spark procedure calls, in order (one line per table)
    # The five procedures: no longer plan lines (a maintain line carries them), kept as the
    # names of its calls in history records, backoff and the v1 JSON document.
    REWRITE_DATA_FILES = "rewrite_data_files"
    EXPIRE_SNAPSHOTS = "expire_snapshots"
    REMOVE_ORPHAN_FILES = "remove_orphan_files"
    REWRITE_MANIFESTS = "rewrite_manifests"
    REWRITE_POSITION_DELETE_FILES = "rewrite_position_delete_files"  # merge-on-read deletes
    BACKUP = "backup"  # export the current snapshot to the policy's backup target
    PROVISION = "provision"  # run a CT's provision steps / write its authorized_keys over SSH
    AWAIT = "await"  # wait until a CT's readiness probe passes (dependents start after it)
    UNREADY = "unready"  # a provisioned CT whose readiness probe fails now: reported only
    DEFERRED = "deferred"  # due, but outside its window (or backing off)
    UNKNOWN = "unknown"  # the resource could not be read: nothing is planned for it

    @property
    def executes(self) -> bool:
        return self not in _REPORT_ONLY


_REPORT_ONLY = frozenset(
    {
        Action.REFUSE,
        Action.ORPHAN,
        Action.CONFLICT,
        Action.DEFERRED,
        Action.UNKNOWN,
        Action.UNREADY,
    }
)
# The procedure names a maintain line's calls carry (see plan.maintenance_ops).
PROCEDURE_ACTIONS = frozenset(
    {
        Action.REWRITE_DATA_FILES,
        Action.EXPIRE_SNAPSHOTS,
        Action.REMOVE_ORPHAN_FILES,
        Action.REWRITE_MANIFESTS,
        Action.REWRITE_POSITION_DELETE_FILES,
    }
)
# The Spark applier's lines.
MAINTENANCE_ACTIONS = frozenset({Action.MAINTAIN})
# Table jobs that are not Spark procedures: health-driven like maintenance, applied elsewhere.
BACKUP_ACTIONS = frozenset({Action.BACKUP})
# Retention deletes rows with pyiceberg (one commit), not through Spark.
RETENTION_ACTIONS = frozenset({Action.DELETE_EXPIRED_ROWS})


class Operation(Protocol):
    """One SDK-neutral step of a plan line, produced by the differ only and carried out by
    an applier as it stands. Implementations are frozen dataclasses (hashable, comparable);
    `to_dict` gives the JSON object with its name under "op" (plan.operations decodes it)."""

    def to_dict(self) -> dict[str, JSONValue]: ...


@dataclass(frozen=True)
class FieldChange:
    """One field: `path` in spec terms (`memory`, `network[0].ip`), values in spec units."""

    path: str
    before: JSONValue
    after: JSONValue


@dataclass(frozen=True)
class Change:
    """One plan line. `reason` is for people only: no code branches on it.

    `preconditions` are what the executor must still find true when it applies
    the line (e.g. ("digest", "ab12...") or ("schema_id", 3)); a mismatch means
    re-plan, never overwrite. `operations` are the instruction: what the applier
    writes, in order; `fields` are their display for people.
    """

    address: str
    action: Action
    reason: str
    fields: tuple[FieldChange, ...] = ()
    depends_on: tuple[str, ...] = ()
    preconditions: tuple[tuple[str, JSONScalar], ...] = ()
    options: tuple[tuple[str, JSONValue], ...] = ()
    operations: tuple[Operation, ...] = ()

    def precondition(self, key: str) -> JSONScalar:
        return dict(self.preconditions).get(key)


@dataclass(frozen=True)
class Plan:
    """All changes of one cycle, in execution order (dependencies first)."""

    changes: tuple[Change, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def has_unknown(self) -> bool:
        """Some resource could not be read (an `unknown` line): the run must exit 1."""
        return any(c.action is Action.UNKNOWN for c in self.changes)

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for change in self.changes:
            counts[change.action.value] = counts.get(change.action.value, 0) + 1
        return dict(sorted(counts.items()))

    def executable(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action.executes)


def is_adoption(change: Change) -> bool:
    """True for an adopt line (appliers dispatch on this, never on the reason)."""
    return change.action is Action.UPDATE and dict(change.options).get("adopt") is True
