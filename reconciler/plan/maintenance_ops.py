"""Maintenance operations carried by plan lines (SDK-neutral, produced by the differ); pure.

A table's due Spark procedures are ONE `maintain` line whose operations are its ordered
`CallProcedure`s: each the Iceberg procedure and its arguments as data, in the order Spark
receives them; the line's `options["calls"]` is their display ({procedure, reason, options}).
`fold` builds maintain lines from per-call lines, `expand` gives them back (the v1 JSON
document, backoff and history keep one record per call). An age (`older_than`) travels as
seconds relative to the moment the call runs, so a saved plan keeps its meaning while the
clock moves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.plan.change import (
    PROCEDURE_ACTIONS,
    Action,
    Change,
    JSONScalar,
    JSONValue,
    Operation,
)

PROCEDURES = (
    "rewrite_data_files",
    "rewrite_position_delete_files",
    "rewrite_manifests",
    "expire_snapshots",
    "remove_orphan_files",
)


@dataclass(frozen=True)
class CallProcedure:
    """`CALL <catalog>.system.<procedure>(table => ..., <args>, options => map(<options>))`.

    `args` are named arguments (`strategy`, `retain_last`, `dry_run` ...), `options` the
    procedure's string options map (`target-file-size-bytes` ...), both in order;
    `older_than_seconds`: the cutoff is `now - older_than_seconds` when it runs.
    `pool` and `pool_size` name the table's scheduling group (its policy) and how many of
    its tables run at once. `session_conf`: Spark SQL conf the job sets for this call
    (a sort's shuffle partitions), in the session of the call's table."""

    procedure: str
    args: tuple[tuple[str, JSONScalar], ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    older_than_seconds: int | None = None
    pool: str = "default"
    pool_size: int = 1
    session_conf: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, JSONValue]:
        doc: dict[str, JSONValue] = {
            "op": "call_procedure",
            "procedure": self.procedure,
            "args": dict(self.args),
            "options": dict(self.options),
        }
        if self.older_than_seconds is not None:
            doc["older_than_seconds"] = self.older_than_seconds
        doc["pool"] = self.pool
        doc["pool_size"] = self.pool_size
        if self.session_conf:  # absent when empty: older plans and readers keep their shape
            doc["session_conf"] = dict(self.session_conf)
        return doc


def _pairs(doc: Mapping[str, Any], key: str) -> list[tuple[str, Any]]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"{key} is not an object")
    return list(value.items())  # JSON objects keep their order here: the call's order


def _int(doc: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = doc.get(key, default)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{key} is not an integer")
    return value


def _decode_call(doc: Mapping[str, Any]) -> CallProcedure:
    procedure = doc.get("procedure")
    if procedure not in PROCEDURES:
        raise ValueError(f"procedure {procedure!r} is not a maintenance procedure")
    args = _pairs(doc, "args")
    if not all(v is None or isinstance(v, str | int | float | bool) for _, v in args):
        raise ValueError("args hold only scalars")
    options = _pairs(doc, "options")
    if not all(isinstance(v, str) for _, v in options):
        raise ValueError("options hold only strings")
    session_conf = _pairs(doc, "session_conf")
    if not all(k.startswith("spark.sql.") and isinstance(v, str) for k, v in session_conf):
        raise ValueError("session_conf holds only spark.sql.* keys with string values")
    pool = doc.get("pool", "default")
    if not isinstance(pool, str):
        raise ValueError("pool is not a string")
    return CallProcedure(
        procedure=procedure,
        args=tuple(args),
        options=tuple(options),
        older_than_seconds=_int(doc, "older_than_seconds", None),
        pool=pool,
        pool_size=_int(doc, "pool_size", 1) or 1,
        session_conf=tuple(session_conf),
    )


def procedure_of(operations: tuple[Operation, ...]) -> CallProcedure | None:
    """A per-call line's single CallProcedure, or None if it carries anything else."""
    if len(operations) == 1 and isinstance(operations[0], CallProcedure):
        return operations[0]
    return None


def calls_of(change: Change) -> tuple[CallProcedure, ...]:
    """A maintain line's CallProcedures in order (empty for any other line)."""
    if change.action is not Action.MAINTAIN:
        return ()
    return tuple(op for op in change.operations if isinstance(op, CallProcedure))


def _call_display(change: Change) -> dict[str, JSONValue]:
    return {
        "procedure": change.action.value,
        "reason": change.reason,
        "options": dict(change.options),
    }


def _maintain(group: list[Change]) -> Change:
    calls: list[JSONValue] = [_call_display(c) for c in group]
    first = group[0]
    return Change(
        first.address,
        Action.MAINTAIN,
        "; ".join(c.reason for c in group),
        depends_on=tuple(dict.fromkeys(d for c in group for d in c.depends_on)),
        preconditions=tuple(dict.fromkeys(p for c in group for p in c.preconditions)),
        options=(("calls", calls),),
        operations=tuple(op for c in group for op in c.operations),
    )


def fold(changes: Sequence[Change]) -> tuple[Change, ...]:
    """Each table's consecutive per-procedure lines become one maintain line, in place."""
    out: list[Change] = []
    group: list[Change] = []
    for change in (*changes, None):
        if group and (
            change is None
            or change.action not in PROCEDURE_ACTIONS
            or change.address != group[0].address
        ):
            out.append(_maintain(group))
            group = []
        if change is None:
            break
        if change.action in PROCEDURE_ACTIONS:
            group.append(change)
        else:
            out.append(change)
    return tuple(out)


def expand(change: Change) -> tuple[Change, ...]:
    """A maintain line as its per-call lines (each with one CallProcedure); others as is."""
    if change.action is not Action.MAINTAIN:
        return (change,)
    shown = dict(change.options).get("calls")
    displays = shown if isinstance(shown, list) else []
    calls = calls_of(change)
    lines: list[Change] = []
    for index in range(max(len(calls), len(displays))):
        display = displays[index] if index < len(displays) else {}
        doc = display if isinstance(display, dict) else {}
        call = calls[index] if index < len(calls) else None
        options = doc.get("options")
        lines.append(
            Change(
                change.address,
                Action(call.procedure if call else str(doc.get("procedure"))),
                str(doc.get("reason", "")),
                depends_on=change.depends_on,
                preconditions=change.preconditions,
                options=tuple(options.items()) if isinstance(options, dict) else (),
                operations=(call,) if call else (),
            )
        )
    return tuple(lines)


def expand_all(changes: Sequence[Change]) -> tuple[Change, ...]:
    return tuple(line for change in changes for line in expand(change))


# JSON name ("op") -> rebuild one from its dict (see plan.operations).
DECODERS: Mapping[str, Callable[[Mapping[str, Any]], Operation]] = {
    "call_procedure": _decode_call,
}
