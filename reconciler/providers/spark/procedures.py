"""Pure builders of the CALL statements a maintenance job runs, from the plan's operations.

Every value reaches the statement as a Spark SQL literal rendered here (strings escaped,
timestamps from a datetime, identifiers quoted): never user text spliced into SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC as UTC_ZONE
from datetime import datetime, timedelta

from reconciler.plan.change import Action, JSONScalar
from reconciler.plan.maintenance_ops import CallProcedure
from reconciler.providers.spark.jobs import JobError

# Named arguments each procedure takes besides `table` (older_than comes as an age).
_NAMED = {
    Action.REWRITE_DATA_FILES: ("strategy", "sort_order", "where"),
    Action.REWRITE_MANIFESTS: (),
    Action.REWRITE_POSITION_DELETE_FILES: (),
    Action.EXPIRE_SNAPSHOTS: ("retain_last",),
    Action.REMOVE_ORPHAN_FILES: ("dry_run",),
}
_AGED = frozenset({Action.EXPIRE_SNAPSHOTS, Action.REMOVE_ORPHAN_FILES})


@dataclass(frozen=True)
class ProcedureCall:
    action: Action
    sql: str
    session_conf: tuple[tuple[str, str], ...] = ()  # Spark SQL conf set for this call

    def to_job(self) -> dict[str, object]:
        """The call as the job file holds it (job_main reads `action`, `sql`, `conf`)."""
        doc: dict[str, object] = {"action": self.action.value, "sql": self.sql}
        if self.session_conf:
            doc["conf"] = dict(self.session_conf)
        return doc


def sql_string(value: str) -> str:
    """A Spark SQL string literal (Spark escapes with backslashes, not doubled quotes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _identifier(parts: Sequence[str]) -> str:
    return ".".join("`" + p.replace("`", "``") + "`" for p in parts)


def _timestamp(moment: datetime) -> str:
    # Rendered from a datetime: never user text in the statement.
    return f"TIMESTAMP '{moment.isoformat(sep=' ', timespec='seconds')}'"


def _literal(key: str, value: JSONScalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return sql_string(value)
    raise JobError(f"option {key} has an unsupported value {value!r}")


def procedure_call(
    catalog: str,
    table_parts: Sequence[str],
    call: CallProcedure,
    now: datetime,
    *,
    prefix_listing: bool = False,
) -> ProcedureCall:
    """`CALL <catalog>.system.<procedure>(table => ..., ...)` for one CallProcedure operation,
    its `older_than` cutoff computed from `now` (the moment the job is built).

    `prefix_listing`: remove_orphan_files lists through the table's FileIO (S3FileIO)
    instead of a Hadoop FileSystem, which has no `s3://` scheme without hadoop-aws."""
    try:
        action = Action(call.procedure)
    except ValueError:
        action = Action.UNKNOWN
    if action not in _NAMED:
        raise JobError(f"{call.procedure} is not a maintenance procedure")
    unknown = [k for k, _ in call.args if k not in _NAMED[action]]
    if unknown:
        raise JobError(f"{call.procedure}: unknown arguments {sorted(unknown)}")
    args = [f"table => {sql_string(_identifier(table_parts))}"]
    given = dict(call.args)
    if action in _AGED:
        if call.older_than_seconds is None or call.older_than_seconds < 0:
            raise JobError(f"{call.procedure} needs older_than_seconds (a non-negative age)")
        cutoff = (now if now.tzinfo else now.replace(tzinfo=UTC_ZONE)).astimezone(
            UTC_ZONE
        ) - timedelta(seconds=call.older_than_seconds)
        args.append(f"older_than => {_timestamp(cutoff)}")
    for key in _NAMED[action]:
        if key in given:
            args.append(f"{key} => {_literal(key, given[key])}")
    if prefix_listing and action is Action.REMOVE_ORPHAN_FILES:
        args.append("prefix_listing => true")
    if call.options:
        pairs = ", ".join(f"{sql_string(k)}, {sql_string(v)}" for k, v in sorted(call.options))
        args.append(f"options => map({pairs})")
    sql = f"CALL {_identifier([catalog])}.system.{call.procedure}({', '.join(args)})"
    return ProcedureCall(action, sql, call.session_conf)
