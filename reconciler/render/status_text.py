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
    """`key:  value` lines, values in one column; conditions and failing maintenance as
    indented lines below."""
    rows: list[tuple[str, str]] = []
    for key, value in doc.items():
        if key in _HIDDEN or key in ("failing_maintenance", "conditions"):
            continue
        text = cell(key, value)
        if key == "last_result" and doc.get("last_result_historical"):
            text += " (historical: the daemon is not running)"
        rows.append((key, text))
    failing = doc.get("failing_maintenance") or []
    found = [c for c in doc.get("conditions") or [] if isinstance(c, Mapping)]
    if "conditions" in doc:
        rows.append(("conditions", ", ".join(_brief(c) for c in found) or "-"))
    rows.append(("failing_maintenance", str(len(failing)) if failing else "none"))
    width = max(len(k) for k, _ in rows) + 1
    lines = [f"{k + ':':<{width}} {v}" for k, v in rows]
    at = next(i for i, (k, _) in enumerate(rows) if k == "failing_maintenance")
    lines[at:at] = [f"  {line}" for line in condition_lines(found)]
    for entry in failing:
        if isinstance(entry, Mapping):
            name = entry.get("address") or entry.get("table") or "-"
            rest = {k: v for k, v in entry.items() if k not in ("address", "table")}
            lines.append(f"  {name}: {cell('', rest)}")
        else:
            lines.append(f"  {cell('', entry)}")
    return "\n".join(lines) + "\n"


def _brief(condition: Mapping[str, Any]) -> str:
    return f"{condition.get('type')}={condition.get('status')}"


def condition_lines(found: Sequence[Mapping[str, Any]]) -> list[str]:
    """`Ready=False  ApplyFailed  since <time>: <message>`, one per condition, aligned."""
    if not found:
        return []
    heads = [_brief(c) for c in found]
    reasons = [str(c.get("reason") or "-") for c in found]
    wide, wider = max(map(len, heads)), max(map(len, reasons))
    out = []
    for head, reason, c in zip(heads, reasons, found, strict=True):
        since = f"  since {c['lastTransitionTime']}" if c.get("lastTransitionTime") else ""
        message = f": {c['message']}" if c.get("message") else ""
        out.append(f"{head:<{wide}}  {reason:<{wider}}{since}{message}".rstrip())
    return out


_COLUMNS = (
    "ID", "STARTED", "TRIGGER", "RESULT", "REASON", "REVISION", "SECONDS", "CHANGES", "BY"
)  # fmt: skip


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
        cell("reason", entry.get("reason")),
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
