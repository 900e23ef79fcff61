"""Terraform-like human view of a Plan; formats only, never computes or decides."""

from __future__ import annotations

import json
from collections.abc import Sequence

from reconciler.plan.change import MAINTENANCE_ACTIONS, Action, Change, JSONValue, Plan

NO_CHANGES = "No changes. Your infrastructure matches the configuration.\n"

# A closed mapping: every Action has exactly one symbol, legend text and colour.
SYMBOLS: dict[Action, tuple[str, str, str]] = {
    Action.CREATE: ("+", "create", "32"),
    Action.UPDATE: ("~", "update in place", "33"),
    Action.RESTART: ("~", "restart required", "33"),
    Action.RESIZE: ("^", "grow a disk", "33"),
    Action.START: (">", "start", "36"),
    Action.STOP: ("<", "stop", "36"),
    Action.DELETE: ("-", "delete", "31"),
    Action.REFUSE: ("!", "refused, never executed", "1;31"),
    Action.ORPHAN: ("?", "orphan, reported only", "35"),
    Action.CONFLICT: ("#", "conflict, not ours, never touched", "35"),
    Action.REWRITE_DATA_FILES: ("*", "maintenance", "34"),
    Action.EXPIRE_SNAPSHOTS: ("*", "maintenance", "34"),
    Action.REMOVE_ORPHAN_FILES: ("*", "maintenance", "34"),
    Action.REWRITE_MANIFESTS: ("*", "maintenance", "34"),
    Action.DEFERRED: ("…", "deferred, outside its window or busy", "2"),
    Action.UNKNOWN: ("×", "unknown, could not be read: nothing planned", "1;35"),
}
_SUFFIX = {Action.RESTART: " (restart required)"}


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def format_value(value: JSONValue) -> str:
    """JSON spelling (quoted strings, true/false, lists), `(none)` for null."""
    if value is None:
        return "(none)"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _legend(plan: Plan, color: bool) -> list[str]:
    used = {change.action for change in plan.changes}
    texts: dict[str, list[str]] = {}
    codes: dict[str, str] = {}
    for action, (symbol, text, code) in SYMBOLS.items():  # declaration order: stable
        if action in used and text not in texts.setdefault(symbol, []):
            texts[symbol].append(text)
            codes.setdefault(symbol, code)
    lines = ["Actions are indicated with the following symbols:"]
    for symbol, parts in texts.items():
        if parts:
            lines.append(f"  {_paint(symbol, codes[symbol], color)} {'; '.join(parts)}")
    return lines


def _block(change: Change, color: bool) -> list[str]:
    symbol, _, code = SYMBOLS[change.action]
    title = f"{symbol} {change.address}: {change.action.value}{_SUFFIX.get(change.action, '')}"
    lines = [f"  {_paint(title, code, color)}"]
    if change.reason:
        lines.append(f"      # {change.reason}")
    for field in change.fields:
        if change.action == Action.CREATE:
            lines.append(f"      {field.path}: {format_value(field.after)}")
        else:
            before, after = format_value(field.before), format_value(field.after)
            lines.append(f"      {field.path}: {before} -> {after}")
    for key, value in change.options:
        lines.append(f"      option {key}: {format_value(value)}")
    if change.depends_on:
        lines.append(f"      depends on: {', '.join(change.depends_on)}")
    return lines


def summary_line(plan: Plan) -> str:
    """`Plan: 1 to create, 2 to update, 0 to resize, 1 refused.` (zero extras left out)."""
    counts: dict[Action, int] = {}
    for change in plan.changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    maintenance = sum(counts.get(a, 0) for a in MAINTENANCE_ACTIONS)
    parts = [
        f"{counts.get(Action.CREATE, 0)} to create",
        f"{counts.get(Action.UPDATE, 0)} to update",
        f"{counts.get(Action.RESIZE, 0)} to resize",
    ]
    extras = (
        (counts.get(Action.RESTART, 0), "to restart"),
        (counts.get(Action.START, 0), "to start"),
        (counts.get(Action.STOP, 0), "to stop"),
        (counts.get(Action.DELETE, 0), "to delete"),
        (maintenance, "maintenance jobs to run"),
        (counts.get(Action.REFUSE, 0), "refused"),
        (counts.get(Action.DEFERRED, 0), "deferred"),
        (counts.get(Action.UNKNOWN, 0), "unknown (could not be read)"),
        (counts.get(Action.ORPHAN, 0), "orphaned"),
        (counts.get(Action.CONFLICT, 0), "in conflict"),
    )
    parts += [f"{count} {label}" for count, label in extras if count]
    return "Plan: " + ", ".join(parts) + "."


Notes = Sequence[tuple[str, str]]


def _notes(notes: Notes) -> list[str]:
    """Why nothing is due where nothing is planned (healthy tables, gc disabled...)."""
    if not notes:
        return []
    return ["", "Not due (no action needed):"] + [
        f"  = {address}: {reason}" for address, reason in sorted(notes)
    ]


def render_text(plan: Plan, color: bool = False, notes: Notes = ()) -> str:
    """The plan as people read it; same plan, same text. `notes` are (address, reason)
    pairs for resources that need nothing (e.g. a healthy table's maintenance)."""
    if not plan.changes:
        return NO_CHANGES + "".join(line + "\n" for line in _notes(notes))
    lines = _legend(plan, color)
    lines += ["", "The reconciler will perform the following actions:"]
    for change in plan.changes:
        lines.append("")
        lines += _block(change, color)
    reported = len(plan.changes) - len(plan.executable())
    lines.append("")
    if reported:
        lines.append(
            f"{reported} of these lines {'is' if reported == 1 else 'are'} reported only and never executed."
        )
    lines.append(_paint(summary_line(plan), "1", color))
    lines += _notes(notes)
    return "\n".join(lines) + "\n"
