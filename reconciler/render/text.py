"""Terraform-like human view of a Plan; formats only, never computes or decides."""

from __future__ import annotations

import json
from collections.abc import Sequence

from reconciler.plan.change import MAINTENANCE_ACTIONS, Action, Change, JSONValue, Plan
from reconciler.plan.maintenance_ops import expand

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
    Action.MAINTAIN: ("*", "maintenance", "34"),
    Action.DELETE_EXPIRED_ROWS: ("-", "retention: delete expired rows", "31"),
    Action.BACKUP: ("*", "backup", "34"),
    Action.PROVISION: ("%", "provision over SSH", "36"),
    Action.AWAIT: ("◷", "await readiness", "36"),
    Action.UNREADY: ("⊘", "unready, reported only", "1;33"),
    Action.DEFERRED: ("…", "deferred, outside its window or busy", "2"),
    Action.UNKNOWN: ("×", "unknown, could not be read: nothing planned", "1;35"),
}
_SUFFIX = {Action.RESTART: " (restart required)"}
# Strongest risk first: the class that marks a resource's block when it has several lines.
RISK_ORDER: tuple[Action, ...] = (
    Action.UNKNOWN,
    Action.REFUSE,
    Action.DELETE,
    Action.DELETE_EXPIRED_ROWS,
    Action.CONFLICT,
    Action.RESTART,
    Action.STOP,
    Action.RESIZE,
    Action.UPDATE,
    Action.CREATE,
    Action.START,
    Action.PROVISION,
    Action.AWAIT,
    Action.UNREADY,
    Action.MAINTAIN,
    Action.BACKUP,
    Action.ORPHAN,
    Action.DEFERRED,
)
# Spec fields whose plan values are integers in MiB (JSON keeps the numbers; text shows units).
_MIB_FIELDS = frozenset({"memory", "swap"})


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text


def format_value(value: JSONValue) -> str:
    """JSON spelling (quoted strings, true/false, lists), `(none)` for null."""
    if value is None:
        return "(none)"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def format_size_mib(mib: int) -> str:
    """`2 GiB`, `512 MiB`, `1.5 GiB`: the largest binary unit that reads naturally."""
    for unit, factor in (("TiB", 1024 * 1024), ("GiB", 1024)):
        if abs(mib) >= factor:
            value = mib / factor
            return f"{value:g} {unit}" if value == round(value, 2) else f"{mib} MiB"
    return f"{mib} MiB"


def format_field(path: str, value: JSONValue) -> str:
    """A field's value for people: sizes in units, the rest as `format_value`."""
    leaf = path.rsplit(".", 1)[-1]
    if leaf in _MIB_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        return format_size_mib(value)
    return format_value(value)


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


def _title(change: Change) -> str:
    """`maintain (rewrite_data_files, expire_snapshots)`, `restart (restart required)` ..."""
    if change.action is Action.MAINTAIN:
        return f"maintain ({', '.join(c.action.value for c in expand(change))})"
    return f"{change.action.value}{_SUFFIX.get(change.action, '')}"


def _calls(change: Change, pad: str) -> list[str]:
    """A maintain line's calls in order beneath it, each with its reason and options."""
    lines: list[str] = []
    for call in expand(change):
        lines.append(
            f"{pad}{call.action.value}  # {call.reason}" if call.reason else pad + call.action.value
        )
        lines += [f"{pad}  option {k}: {format_value(v)}" for k, v in call.options]
    if change.depends_on:
        lines.append(f"{pad}depends on: {', '.join(change.depends_on)}")
    return lines


def _body(change: Change, pad: str) -> list[str]:
    if change.action is Action.MAINTAIN:
        return _calls(change, pad)
    lines = [f"{pad}# {change.reason}"] if change.reason else []
    for field in change.fields:
        if change.action == Action.CREATE:
            lines.append(f"{pad}{field.path}: {format_field(field.path, field.after)}")
        else:
            before = format_field(field.path, field.before)
            after = format_field(field.path, field.after)
            lines.append(f"{pad}{field.path}: {before} -> {after}")
    for key, value in change.options:
        lines.append(f"{pad}option {key}: {format_value(value)}")
    if change.depends_on:
        lines.append(f"{pad}depends on: {', '.join(change.depends_on)}")
    return lines


def strongest(changes: Sequence[Change]) -> Action:
    """The riskiest action among one resource's lines (RISK_ORDER)."""
    return min((c.action for c in changes), key=RISK_ORDER.index)


def _block(changes: Sequence[Change], color: bool) -> list[str]:
    """One resource: its address headed by the strongest risk class, then each line."""
    first = changes[0]
    if len(changes) == 1:
        symbol, _, code = SYMBOLS[first.action]
        title = f"{symbol} {first.address}: {_title(first)}"
        return [f"  {_paint(title, code, color)}", *_body(first, "      ")]
    top = strongest(changes)
    symbol, _, code = SYMBOLS[top]
    actions = ", ".join(c.action.value for c in changes)
    title = f"{symbol} {first.address}: {actions} (strongest: {top.value})"
    lines = [f"  {_paint(title, code, color)}"]
    for change in changes:
        sub_symbol, _, sub_code = SYMBOLS[change.action]
        sub = f"{sub_symbol} {_title(change)}"
        lines.append(f"      {_paint(sub, sub_code, color)}")
        lines += _body(change, "          ")
    return lines


def group_by_resource(plan: Plan) -> list[list[Change]]:
    """A resource's lines together, resources in order of their first line."""
    groups: dict[str, list[Change]] = {}
    for change in plan.changes:
        groups.setdefault(change.address, []).append(change)
    return list(groups.values())


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
        (counts.get(Action.BACKUP, 0), "to back up"),
        (counts.get(Action.DELETE_EXPIRED_ROWS, 0), "retention deletes"),
        (counts.get(Action.REFUSE, 0), "refused"),
        (counts.get(Action.PROVISION, 0), "to provision"),
        (counts.get(Action.AWAIT, 0), "readiness waits"),
        (counts.get(Action.UNREADY, 0), "unready"),
        (counts.get(Action.DEFERRED, 0), "deferred"),
        (counts.get(Action.UNKNOWN, 0), "unknown (could not be read)"),
        (counts.get(Action.ORPHAN, 0), "orphaned"),
        (counts.get(Action.CONFLICT, 0), "in conflict"),
    )
    parts += [f"{count} {label}" for count, label in extras if count]
    return "Plan: " + ", ".join(parts) + "."


Notes = Sequence[tuple[str, str]]


def _notes(notes: Notes, verbose: bool = True) -> list[str]:
    """Why nothing is due where nothing is planned (healthy tables, gc disabled...);
    folded into one count line unless `verbose`."""
    if not notes:
        return []
    if not verbose:
        addresses = {address for address, _ in notes}
        noun = "table" if all(a.startswith("table/") for a in addresses) else "resource"
        count = len(addresses)
        return [
            "",
            f"{count} {noun if count == 1 else noun + 's'} healthy (maintenance not due); "
            "-v to list",
        ]
    return ["", "Not due (no action needed):"] + [
        f"  = {address}: {reason}" for address, reason in sorted(notes)
    ]


def render_text(plan: Plan, color: bool = False, notes: Notes = (), verbose: bool = True) -> str:
    """The plan as people read it; same plan, same text. `notes` are (address, reason)
    pairs for resources that need nothing (e.g. a healthy table's maintenance), listed
    when `verbose`, else one count line."""
    if not plan.changes:
        return NO_CHANGES + "".join(line + "\n" for line in _notes(notes, verbose))
    lines = _legend(plan, color)
    lines += ["", "The reconciler will perform the following actions:"]
    for group in group_by_resource(plan):
        lines.append("")
        lines += _block(group, color)
    reported = len(plan.changes) - len(plan.executable())
    lines.append("")
    if reported:
        lines.append(
            f"{reported} of these lines {'is' if reported == 1 else 'are'} "
            "reported only and never executed."
        )
    lines.append(_paint(summary_line(plan), "1", color))
    lines += _notes(notes, verbose)
    return "\n".join(lines) + "\n"
