"""`reconcile status` and `history` as aligned text; formats only (JSON stays the raw docs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_NEVER = ("_at", "next_run")  # a timestamp that is not there has not happened yet
_HIDDEN = ("daemon_running", "last_result_historical")  # said by the sentences beside them


def cell(key: str, value: Any) -> str:
    """One value for people: `-` or `never` for null, yes/no, lists comma-joined."""
    if value is None or value == "":
        return "never" if key.endswith(_NEVER) else "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={cell(k, v)}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ", ".join(cell(key, v) for v in value) or "-"
    return str(value)


def render_status(doc: Mapping[str, Any]) -> str:
    """`key:  value` lines, values in one column; failing maintenance as indented lines."""
    rows: list[tuple[str, str]] = []
    for key, value in doc.items():
        if key in _HIDDEN or key == "failing_maintenance":
            continue
        text = cell(key, value)
        if key == "last_result" and doc.get("last_result_historical"):
            text += " (historical: the daemon is not running)"
        rows.append((key, text))
    failing = doc.get("failing_maintenance") or []
    rows.append(("failing_maintenance", str(len(failing)) if failing else "none"))
    width = max(len(k) for k, _ in rows) + 1
    lines = [f"{k + ':':<{width}} {v}" for k, v in rows]
    for entry in failing:
        if isinstance(entry, Mapping):
            name = entry.get("address") or entry.get("table") or "-"
            rest = {k: v for k, v in entry.items() if k not in ("address", "table")}
            lines.append(f"  {name}: {cell('', rest)}")
        else:
            lines.append(f"  {cell('', entry)}")
    return "\n".join(lines) + "\n"


_COLUMNS = ("ID", "STARTED", "TRIGGER", "RESULT", "REVISION", "SECONDS", "CHANGES", "BY")


def _row(entry: Mapping[str, Any]) -> tuple[str, ...]:
    revision = entry.get("revision")
    summary = entry.get("summary") or {}
    changes = ", ".join(f"{n} {a}" for a, n in sorted(summary.items())) if summary else "-"
    by = entry.get("command") or "-"
    if entry.get("user"):
        by = f"{entry['user']}@{entry.get('host') or '-'}: {by}"
    seconds = entry.get("seconds")
    return (
        cell("id", entry.get("id")),
        cell("started_at", entry.get("started_at")),
        cell("trigger", entry.get("trigger")),
        cell("result", entry.get("result")),
        str(revision)[:12] if revision else "-",
        f"{seconds:.1f}" if isinstance(seconds, int | float) else "-",
        changes,
        by,
    )


def render_history(rows: Sequence[Mapping[str, Any]]) -> str:
    """One aligned line per cycle, newest first, and each cycle's error indented below it."""
    if not rows:
        return "No cycles recorded yet.\n"
    table = [_COLUMNS] + [_row(r) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(_COLUMNS))]
    out: list[str] = []
    for index, line in enumerate(table):
        out.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        entry = rows[index - 1] if index else None
        if entry is not None and entry.get("error"):
            out.append(f"    error: {entry['error']}")
    return "\n".join(out) + "\n"
