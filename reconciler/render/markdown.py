"""Drift report views (Markdown for Gitea, plain text for terminals) over DriftReport; no logic."""

from __future__ import annotations

import json

from reconciler.plan.change import JSONValue
from reconciler.report.drift import DriftReport, counts_by_kind


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


def render_drift_markdown(report: DriftReport) -> str:
    lines = ["# Drift report", ""]
    revision = f"`{_short(report.revision)}`" if report.revision else "(local specs)"
    lines += [f"Specs revision {revision}, checked {report.generated_at}.", ""]
    if not report.entries:
        return "\n".join(lines + ["**No drift.** Reality matches the specs.", ""])
    counts = counts_by_kind(report.entries)
    lines += ["| kind | drifted resources |", "| --- | ---: |"]
    lines += [f"| {kind} | {n} |" for kind, n in counts.items()]
    lines += ["", "## Summary", ""]
    lines += ["| address | action | since | commit | reason |", "| --- | --- | --- | --- | --- |"]
    for e in report.entries:
        lines.append(
            f"| `{_cell(e.address)}` | {e.action} | {e.since} | `{_short(e.commit)}` |"
            f" {_cell(e.reason)} |"
        )
    for e in report.entries:
        if not e.fields:
            continue
        lines += ["", f"## `{_cell(e.address)}` ({e.action})", ""]
        lines += ["| field | desired | actual | since |", "| --- | --- | --- | --- |"]
        for f in e.fields:
            lines.append(
                f"| `{_cell(f.path)}` | {_cell(_value(f.after))} | {_cell(_value(f.before))} |"
                f" {f.since} |"
            )
    return "\n".join(lines) + "\n"


def render_drift_text(report: DriftReport) -> str:
    head = f"revision {_short(report.revision)} checked {report.generated_at}"
    if not report.entries:
        return f"No drift ({head}).\n"
    lines = [f"Drift ({head}):", ""]
    for e in report.entries:
        commit = f", spec from {_short(e.commit)}" if e.commit else ""
        lines.append(f"  {e.action} {e.address}  since {e.since}{commit}")
        if e.reason:
            lines.append(f"      {e.reason}")
        for f in e.fields:
            lines.append(f"      {f.path}: {_value(f.before)} -> {_value(f.after)}")
    n = len({e.address for e in report.entries})
    kinds = ", ".join(f"{k}: {v}" for k, v in counts_by_kind(report.entries).items())
    lines += ["", f"{n} drifted resource(s) ({kinds})."]
    return "\n".join(lines) + "\n"
