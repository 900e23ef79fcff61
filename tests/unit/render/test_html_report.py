"""The HTML lake report escapes every string it did not write itself, and carries no script."""

from __future__ import annotations

from html.parser import HTMLParser

from reconciler.model.file_sizes import KIB, MIB, histogram
from reconciler.model.health import SnapshotInfo, TableHealth
from reconciler.render.html_report import duration, render_html
from reconciler.report.drift import DriftEntry, DriftField, DriftReport
from reconciler.report.lake import ContainerRow, LakeReport, MaintenanceRun, TableRow

EVIL = '<script>alert("x")</script>'


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _report() -> LakeReport:
    field = DriftField(f"description{EVIL}", EVIL, {"k": EVIL}, "2026-01-01T00:00:00+00:00")
    line = DriftEntry("container/web", "update", EVIL, (field,), field.since, None)
    due = DriftEntry("table/lake.a.b", "rewrite_data_files", f"3 files {EVIL}", (), "t", None, True)
    run = MaintenanceRun("table/lake.a.b", "expire_snapshots", "failed", EVIL, "t", 1.0)
    health = TableHealth(
        "table/lake.a.b",
        data_files=3,
        total_bytes=3 * KIB,
        snapshots=(SnapshotInfo(1, 1_000), SnapshotInfo(2, 2_000)),
        current_snapshot_id=2,
        small_files=3,
        small_file_size=32 * MIB,
    )
    table = TableRow(
        address="table/lake.a.b",
        policy=EVIL,
        exists=True,
        health=health,
        histogram=histogram([KIB, 2 * KIB, 3 * KIB, 40 * MIB]),
        snapshots=(),
        oldest_snapshot_age=90_061,
        due=(due,),
        deferred=(),
        drift=(),
        notes=(EVIL,),
        last_runs=(run,),
    )
    drift = DriftReport((line, due), EVIL, "2026-01-02T00:00:00+00:00")
    container = ContainerRow("container/web", 101, EVIL, "enforce", (line,))
    return LakeReport(drift.generated_at, EVIL, (container,), (table,), (), (EVIL,), (run,), drift)


def test_hostile_strings_are_text_never_markup() -> None:
    page = render_html(_report())
    assert "<script" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    parsed = Tags()
    parsed.feed(page)
    assert "script" not in parsed.tags and "svg" in parsed.tags
    text = "".join(parsed.text)
    assert text.count(EVIL) >= 6  # shown as the user wrote it: reason, policy, note, run...
    assert "http://" not in page and "https://" not in page  # no external resource


def test_histogram_has_one_bar_per_bucket_with_its_count() -> None:
    page = render_html(_report())
    assert page.count('class="bucket"') == 7
    assert '<g class="bucket" data-range="&lt; 64 KiB" data-files="3">' in page
    assert '<g class="bucket" data-range="32 MiB-128 MiB" data-files="1">' in page
    assert "1d 1h old" in page  # the oldest snapshot's age


def test_buckets_and_durations() -> None:
    buckets = histogram([0, 64 * KIB - 1, 64 * KIB, 600 * MIB])
    assert [(b.label, b.files) for b in buckets] == [
        ("< 64 KiB", 2),
        ("64 KiB-1 MiB", 1),
        ("1 MiB-8 MiB", 0),
        ("8 MiB-32 MiB", 0),
        ("32 MiB-128 MiB", 0),
        ("128 MiB-512 MiB", 0),
        (">= 512 MiB", 1),
    ]
    assert buckets[0].bytes == 64 * KIB - 1
    assert (duration(0), duration(59), duration(3_700), duration(90_061)) == (
        "0s",
        "59s",
        "1h 1m",
        "1d 1h",
    )
