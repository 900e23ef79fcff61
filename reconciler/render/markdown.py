"""Drift report views (Markdown for Gitea, plain text for terminals) over DriftReport; no logic."""

from __future__ import annotations

import json

from reconciler.plan.change import JSONValue
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
