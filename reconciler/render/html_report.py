"""The lake report as one self-contained HTML page: inline CSS and SVG, no script, no external
URL; every string from specs, catalogs or history is escaped (`html.escape`). Pure."""

from __future__ import annotations

import json
from html import escape

from reconciler.diff.maintenance_time import approx_bytes
from reconciler.model.file_sizes import SizeBucket
from reconciler.plan.change import JSONValue
from reconciler.report.drift import DriftEntry
from reconciler.report.lake import ContainerRow, LakeReport, MaintenanceRun, TableRow

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d232a;background:#fafbfc}
h1{font-size:1.5rem;margin:0 0 .2rem}h2{margin-top:2rem;border-bottom:1px solid #d0d7de}
h3{margin:.2rem 0 .6rem;font-family:ui-monospace,monospace;font-size:1.05rem}
table{border-collapse:collapse;margin:.4rem 0}th,td{padding:.25rem .6rem;text-align:left;
vertical-align:top;border-bottom:1px solid #e4e8ec}th{background:#eef1f4}
code,.mono{font-family:ui-monospace,monospace;font-size:.92em}
.meta{color:#57606a}.ok{color:#1a7f37}.bad{color:#cf222e}.warn{color:#9a6700}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:1rem;margin:1rem 0}
.figures td{border:none;padding:.1rem .8rem .1rem 0}.grid{display:flex;gap:2rem;flex-wrap:wrap}
.histogram .bar{fill:#54aeff}.histogram text{font-size:11px;fill:#1d232a}
.histogram .range{fill:#57606a;font-size:10px}ul{margin:.2rem 0;padding-left:1.2rem}
"""
MISSING = ' &middot; <b class="bad">does not exist yet</b>'
STATUS_CLASS = {"applied": "ok", "failed": "bad", "stale": "bad", "skipped": "warn"}


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _value(value: JSONValue) -> str:
    return _e(value if isinstance(value, str) else json.dumps(value))


def duration(seconds: int) -> str:
    """`3d 4h`, `12m 5s`: the two largest units of an age."""
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


def histogram_svg(name: str, buckets: tuple[SizeBucket, ...]) -> str:
    """Bars of data files per size bucket, each with its count above and range below."""
    width, gap, top, plot, bottom = 56, 8, 18, 110, 30
    peak = max((b.files for b in buckets), default=0) or 1
    total_w = len(buckets) * (width + gap) + gap
    total_h = top + plot + bottom
    label = f"data file sizes of {name}"
    out = [
        f'<svg class="histogram" role="img" aria-label="{_e(label)}" width="{total_w}"'
        f' height="{total_h}" viewBox="0 0 {total_w} {total_h}">',
        f"<title>{_e(label)}</title>",
    ]
    for i, b in enumerate(buckets):
        x = gap + i * (width + gap)
        h = round(plot * b.files / peak) if b.files else 0
        h = max(h, 2) if b.files else 0
        y = top + plot - h
        mid = x + width // 2
        out.append(
            f'<g class="bucket" data-range="{_e(b.label)}" data-files="{b.files}">'
            f"<title>{_e(b.label)}: {b.files} file(s), {_e(approx_bytes(b.bytes))}</title>"
            f'<rect class="bar" x="{x}" y="{y}" width="{width}" height="{h}"></rect>'
            f'<text class="count" x="{mid}" y="{y - 4}" text-anchor="middle">{b.files}</text>'
            f'<text class="range" x="{mid}" y="{top + plot + 16}" text-anchor="middle">'
            f"{_e(b.axis)}</text></g>"
        )
    out.append("</svg>")
    return "".join(out)


def _fields(entry: DriftEntry) -> str:
    if not entry.fields:
        return _e(entry.reason)
    items = "".join(
        f'<li><code class="field">{_e(f.path)}</code>: {_value(f.before)} &rarr; '
        f'{_value(f.after)} <span class="meta">since {_e(f.since)}</span></li>'
        for f in entry.fields
    )
    return f"<ul>{items}</ul>"


def _container(row: ContainerRow) -> str:
    state = (
        '<span class="ok">in sync</span>'
        if not row.lines
        else "".join(
            f'<div class="drift"><b class="bad">{_e(e.action)}</b> {_fields(e)}</div>'
            for e in row.lines
        )
    )
    return (
        f'<tr class="container" data-address="{_e(row.address)}"><td><code>{_e(row.address)}'
        f"</code></td><td>{row.vmid}</td><td>{_e(row.node or '')}</td>"
        f"<td>{_e(row.drift_mode)}</td><td>{state}</td></tr>"
    )


def _work(entries: tuple[DriftEntry, ...], kind: str) -> str:
    return "".join(
        f'<li class="{kind}"><b>{_e(e.action)}</b>: <span class="reason">{_e(e.reason)}</span></li>'
        for e in entries
    )


def _run_row(run: MaintenanceRun, with_table: bool) -> str:
    table = f"<td><code>{_e(run.address)}</code></td>" if with_table else ""
    css = STATUS_CLASS.get(run.status, "")
    return (
        f'<tr class="run">{table}<td>{_e(run.procedure)}</td>'
        f'<td class="{css}">{_e(run.status)}</td><td>{_e(run.finished_at)}</td>'
        f"<td>{run.seconds:.1f}s</td><td>{_e(run.message)}</td></tr>"
    )


def _figures(row: TableRow) -> str:
    h = row.health
    if h is None:
        return '<p class="meta">no health figures (table missing or unreadable)</p>'
    small = "not read" if h.small_files is None else str(h.small_files)
    if h.small_files is not None and h.small_file_size:
        small += f" (under {approx_bytes(h.small_file_size)})"
    pairs = [
        ("data files", str(h.data_files)),
        ("small files", small),
        ("total size", approx_bytes(h.total_bytes)),
        ("records", str(h.records)),
        ("snapshots", str(h.snapshot_count)),
        ("manifests", str(h.manifests)),
        ("delete files", str(h.delete_files)),
    ]
    if row.oldest_snapshot_age is not None:
        pairs.append(("oldest snapshot", duration(row.oldest_snapshot_age) + " old"))
    cells = "".join(f"<tr><td>{_e(k)}</td><td><b>{_e(v)}</b></td></tr>" for k, v in pairs)
    return f'<table class="figures">{cells}</table>'


def _snapshots(row: TableRow) -> str:
    if not row.snapshots:
        return '<p class="meta">no snapshots</p>'
    items = "".join(
        f'<tr class="snapshot"><td class="mono">{s.snapshot_id}</td>'
        f"<td>{duration(s.age_seconds)} ago</td><td>{'current' if s.current else ''}</td></tr>"
        for s in row.snapshots
    )
    return f"<table><tr><th>snapshot</th><th>age</th><th></th></tr>{items}</table>"


def _table(row: TableRow) -> str:
    policy = f"policy <code>{_e(row.policy)}</code>" if row.policy else "no policy"
    parts = [
        f'<section class="card table" data-table="{_e(row.name)}">',
        f'<h3 class="table-name">{_e(row.name)}</h3><p class="meta">{policy}'
        f"{'' if row.exists else MISSING}</p>",
        '<div class="grid"><div>',
        _figures(row),
        "</div><div><h4>Data file sizes</h4>",
        histogram_svg(row.name, row.histogram)
        if any(b.files for b in row.histogram)
        else "<p>no data files</p>",
        "</div><div><h4>Snapshots</h4>",
        _snapshots(row),
        "</div></div>",
    ]
    if row.due or row.deferred:
        parts.append(
            f'<h4>Work</h4><ul class="work">{_work(row.due, "due")}'
            f"{_work(row.deferred, 'deferred')}</ul>"
        )
    if row.drift:
        parts.append(
            "<h4>Spec drift</h4>"
            + "".join(f"<div><b>{_e(e.action)}</b> {_fields(e)}</div>" for e in row.drift)
        )
    if row.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in row.notes))
        parts.append("</ul>")
    if row.last_runs:
        rows = "".join(_run_row(r, False) for r in row.last_runs)
        parts.append(
            '<h4>Last maintenance</h4><table class="last-runs"><tr><th>procedure</th>'
            f"<th>result</th><th>finished</th><th>took</th><th>message</th></tr>{rows}</table>"
        )
    parts.append("</section>")
    return "".join(parts)


def render_html(report: LakeReport) -> str:
    """The whole page; readable without JavaScript, CSS or network."""
    drifted = sum(1 for c in report.containers if c.lines)
    due = sum(len(t.due) for t in report.tables)
    deferred = sum(len(t.deferred) for t in report.tables)
    body = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Data lake report {_e(report.generated_at)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Data lake report</h1>",
        f'<p class="meta">revision <code>{_e(report.revision or "none")}</code> &middot; '
        f"generated {_e(report.generated_at)}</p>",
        f'<p class="summary">{len(report.containers)} container(s), {drifted} drifting; '
        f"{len(report.tables)} table(s), {due} maintenance line(s) due, {deferred} deferred.</p>",
    ]
    if report.errors:
        items = "".join(f"<li>{_e(e)}</li>" for e in report.errors)
        body.append(f'<div class="card errors bad"><b>Not read:</b><ul>{items}</ul></div>')
    body.append('<h2 id="containers">Containers</h2>')
    if report.containers:
        rows = "".join(_container(c) for c in report.containers)
        body.append(
            '<table class="containers"><tr><th>address</th><th>vmid</th><th>node</th>'
            f"<th>drift mode</th><th>state</th></tr>{rows}</table>"
        )
    else:
        body.append("<p>No Container specs.</p>")
    if report.other:
        items = "".join(
            f"<li><code>{_e(e.address)}</code> <b>{_e(e.action)}</b>: {_e(e.reason)}</li>"
            for e in report.other
        )
        body.append(f'<h3>Not in the specs</h3><ul class="other">{items}</ul>')
    body.append('<h2 id="tables">Tables</h2>')
    body += [_table(t) for t in report.tables] or ["<p>No Table specs.</p>"]
    body.append('<h2 id="history">Recent maintenance</h2>')
    if report.history:
        rows = "".join(_run_row(r, True) for r in report.history)
        body.append(
            '<table class="history"><tr><th>table</th><th>procedure</th><th>result</th>'
            f"<th>finished</th><th>took</th><th>message</th></tr>{rows}</table>"
        )
    else:
        body.append("<p>No maintenance recorded yet.</p>")
    body.append("</body></html>\n")
    return "\n".join(body)
