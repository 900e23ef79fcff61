"""Markdown views (plans, drift reports for Gitea) and the drift report's plain text; no logic."""

from __future__ import annotations

import json
from collections.abc import Sequence

from reconciler.plan.change import Action, Change, JSONValue, Plan
from reconciler.plan.maintenance_ops import expand
from reconciler.render.text import SYMBOLS, format_field, format_value, summary_line
from reconciler.report.drift import DriftEntry, DriftReport, counts_by_kind


def _value(value: JSONValue) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def _cell(text: str) -> str:
    """Escape what breaks a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>") or " "


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "-"


def _health_markdown(entries: tuple[DriftEntry, ...]) -> list[str]:
    if not entries:
        return []
    lines = ["", "## Table health", "", "Maintenance due against each table's policy.", ""]
    lines += ["| table | action | since | reason |", "| --- | --- | --- | --- |"]
    lines += [
        f"| `{_cell(e.address)}` | {e.action} | {e.since} | {_cell(e.reason)} |" for e in entries
    ]
    return lines


def render_drift_markdown(report: DriftReport) -> str:
    lines = ["# Drift report", ""]
    revision = f"`{_short(report.revision)}`" if report.revision else "(local specs)"
    lines += [f"Specs revision {revision}, checked {report.generated_at}.", ""]
    drift, health = report.drift, report.health
    if not drift:
        lines += ["**No drift.** Reality matches the specs."]
        return "\n".join(lines + _health_markdown(health) + [""])
    counts = counts_by_kind(drift)
    lines += ["| kind | drifted resources |", "| --- | ---: |"]
    lines += [f"| {kind} | {n} |" for kind, n in counts.items()]
    lines += ["", "## Summary", ""]
    lines += ["| address | action | since | commit | reason |", "| --- | --- | --- | --- | --- |"]
    for e in drift:
        lines.append(
            f"| `{_cell(e.address)}` | {e.action} | {e.since} | `{_short(e.commit)}` |"
            f" {_cell(e.reason)} |"
        )
    for e in drift:
        if not e.fields:
            continue
        lines += ["", f"## `{_cell(e.address)}` ({e.action})", ""]
        lines += ["| field | desired | actual | since |", "| --- | --- | --- | --- |"]
        for f in e.fields:
            lines.append(
                f"| `{_cell(f.path)}` | {_cell(_value(f.after))} | {_cell(_value(f.before))} |"
                f" {f.since} |"
            )
    return "\n".join(lines + _health_markdown(health)) + "\n"


def _health_text(entries: tuple[DriftEntry, ...]) -> list[str]:
    if not entries:
        return []
    lines = ["", "Table health (maintenance due against the policy):", ""]
    for e in entries:
        lines.append(f"  {e.action} {e.address}  since {e.since}")
        if e.reason:
            lines.append(f"      {e.reason}")
    n = len({e.address for e in entries})
    return [*lines, "", f"{n} table(s) with maintenance due."]


def render_drift_text(report: DriftReport) -> str:
    head = f"revision {_short(report.revision)} checked {report.generated_at}"
    drift, health = report.drift, report.health
    if not drift:
        return "\n".join([f"No drift ({head}).", *_health_text(health)]) + "\n"
    lines = [f"Drift ({head}):", ""]
    for e in drift:
        commit = f", spec from {_short(e.commit)}" if e.commit else ""
        lines.append(f"  {e.action} {e.address}  since {e.since}{commit}")
        if e.reason:
            lines.append(f"      {e.reason}")
        for f in e.fields:
            lines.append(f"      {f.path}: {_value(f.before)} -> {_value(f.after)}")
    n = len({e.address for e in drift})
    kinds = ", ".join(f"{k}: {v}" for k, v in counts_by_kind(drift).items())
    lines += ["", f"{n} drifted resource(s) ({kinds})."]
    return "\n".join(lines + _health_text(health)) + "\n"


def _calls_markdown(change: Change) -> list[str]:
    lines: list[str] = []
    for index, call in enumerate(expand(change), 1):
        lines.append(f"{index}. `{call.action.value}`: {_cell(call.reason)}")
        lines += [f"    - option `{k}`: {_cell(format_value(v))}" for k, v in call.options]
    if change.depends_on:
        lines += ["", f"Depends on: {', '.join(f'`{d}`' for d in change.depends_on)}"]
    return lines


def render_plan_markdown(
    plan: Plan, notes: Sequence[tuple[str, str]] = (), header: Sequence[str] = ()
) -> str:
    """A plan as Markdown (`plan --output markdown`, `show FILE`): the summary, one table row
    per line, then each line's fields; `header` lines go under the title (a saved plan's
    revision and digest)."""
    lines = ["# Plan", ""]
    if header:
        lines += [*header, ""]
    if not plan.changes:
        lines += ["**No changes.** Your infrastructure matches the configuration."]
    else:
        lines += [f"**{summary_line(plan)}**", ""]
        lines += ["| | address | action | reason |", "| --- | --- | --- | --- |"]
        for c in plan.changes:
            symbol = SYMBOLS[c.action][0]
            never = "" if c.action.executes else " (never executed)"
            lines.append(
                f"| {_cell(symbol)} | `{_cell(c.address)}` | {c.action.value}{never} |"
                f" {_cell(c.reason)} |"
            )
        for c in plan.changes:
            if not (c.fields or c.options or c.depends_on):
                continue
            lines += ["", f"## `{_cell(c.address)}` ({c.action.value})", ""]
            if c.action is Action.MAINTAIN:  # its calls in order, each with its options
                lines += _calls_markdown(c)
                continue
            if c.fields:
                lines += ["| field | before | after |", "| --- | --- | --- |"]
                for f in c.fields:
                    before = "" if c.action is Action.CREATE else format_field(f.path, f.before)
                    after = format_field(f.path, f.after)
                    lines.append(f"| `{_cell(f.path)}` | {_cell(before)} | {_cell(after)} |")
            if c.options:
                lines += [""] if c.fields else []
                lines += [f"- option `{k}`: {_cell(format_value(v))}" for k, v in c.options]
            if c.depends_on:
                lines += ["", f"Depends on: {', '.join(f'`{d}`' for d in c.depends_on)}"]
    if notes:
        lines += ["", "## Not due (no action needed)", ""]
        lines += [f"- `{_cell(a)}`: {_cell(r)}" for a, r in sorted(notes)]
    return "\n".join(lines) + "\n"
