"""`reconcile report --output html FILE` on a real lake (git specs, pvesim, an SQLite catalog
with small files), opened in headless Chromium: the test reads what the browser's DOM shows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from daemon_gitrepo import Origin
from daemon_harness import ROOT, container, write_config

from reconciler.daemon.record import cycle_record
from reconciler.engine import RunOptions, reconcile_once
from reconciler.plan.change import Action, Change, Plan
from reconciler.report.conditions import CycleResult
from reconciler.report.outcome import CycleReport, Outcome, Status
from reconciler.sources.config import load_settings
from reconciler.store import Store
from reconciler.wiring import build_deps

TABLE = """apiVersion: reconciler/v1
kind: Table
metadata: {{name: {name}}}
spec:
  catalog: lake
  namespace: {name}
  name: {name}
  policy: {policy}
  schema:
    - {{name: id, type: long, required: true}}
"""
POLICY = """apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata: {{name: {name}}}
spec:
  {window}
  compaction: {{minSmallFiles: 2}}
"""
CLOSED = 'window: {schedule: "0 0 1 1 *", duration: 1m, timezone: UTC}'
HOSTILE = "<script>document.title='owned'</script> Spark said no"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("RECONCILER_REQUIRE_CHROMIUM") or os.environ.get(
            "RECONCILER_REQUIRE_SPARK"
        ):
            pytest.fail("chromium is required here (CI): apt-get install chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


class Dom(HTMLParser):
    """Elements of the dumped DOM as (tag, attrs, text of the element and its children)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, dict[str, str], list[str]]] = []
        self.elements: list[tuple[str, dict[str, str], str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("meta", "br", "img", "link", "input"):  # void: never closed
            self.elements.append((tag, {k: v or "" for k, v in attrs}, ""))
            return
        self.open.append((tag, {k: v or "" for k, v in attrs}, []))

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            name, attrs, text = self.open.pop()
            joined = "".join(text)
            self.elements.append((name, attrs, joined))
            if self.open:
                self.open[-1][2].append(joined)
            if name == tag:
                return

    def handle_data(self, data: str) -> None:
        if self.open:
            self.open[-1][2].append(data)

    def find(self, tag: str, **attrs: str) -> list[tuple[dict[str, str], str]]:
        return [
            (a, t)
            for name, a, t in self.elements
            if name == tag
            and all(a.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())
        ]


def _small_files(state: Path, name: str, files: int) -> None:
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog(
        "lake", uri=f"sqlite:///{state}/catalog.db", warehouse=f"file://{state}/warehouse"
    )
    table = catalog.load_table(f"{name}.{name}")
    schema = pa.schema([pa.field("id", pa.int64(), nullable=False)])
    for i in range(files):  # one small data file per append
        table.append(pa.Table.from_pylist([{"id": i}], schema=schema))


def _cli(config: Path, sim: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PVE_TOKEN_SECRET": sim.token_secret, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "reconciler.cli", "--config", str(config), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=config.parent,
    )


def test_html_report_shows_drift_histograms_work_and_history_in_chromium(
    origin: Origin, pvesim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = _chromium()
    origin.commit(
        {
            "specs/web.yaml": container("web", 251, "1GiB"),
            "specs/events.yaml": TABLE.format(name="events", policy="now"),
            "specs/logs.yaml": TABLE.format(name="logs", policy="nightly"),
            "specs/now.yaml": POLICY.format(name="now", window=""),
            "specs/nightly.yaml": POLICY.format(name="nightly", window=CLOSED),
        },
        "a CT, two tables, two policies",
    )
    config = write_config(tmp_path, origin.url, pvesim)
    settings = load_settings(config)
    monkeypatch.setenv("PVE_TOKEN_SECRET", pvesim.token_secret)
    options = RunOptions(apply=True, maintenance=False)
    created = reconcile_once(settings, origin.clone / "specs", options, None, build_deps(settings))
    assert created.error is None and not created.failed, [o.message for o in created.outcomes]
    _small_files(settings.state_dir, "events", 3)
    _small_files(settings.state_dir, "logs", 2)
    pvesim.api().nodes("pve").lxc(251).config.put(memory=3072)  # a hand edit: drift
    ran = CycleReport(
        Plan((Change("table/lake.logs.logs", Action.EXPIRE_SNAPSHOTS, "2 snapshots"),)),
        (Outcome("table/lake.logs.logs", Action.EXPIRE_SNAPSHOTS, Status.FAILED, HOSTILE, 4.2),),
    )
    Store(settings.state_dir).record(
        cycle_record("poll", 1_700_000_000.0, 1_700_000_004.2, None, CycleResult.FAILED, ran)
    )

    page = tmp_path / "out" / "lake.html"
    page.parent.mkdir()
    done = _cli(config, pvesim, "report", "--output", "html", str(page))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Report written to {page}.\n"
    raw = page.read_text()
    assert "<script" not in raw and "http://" not in raw and "https://" not in raw
    assert [p.name for p in page.parent.iterdir()] == ["lake.html"]  # no temporary left

    shown = subprocess.run(
        [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--dump-dom",
         page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr[-2000:]
    dom = Dom()
    dom.feed(shown.stdout)
    assert dom.find("title")[0][1].startswith("Data lake report")  # no script renamed it
    assert not dom.find("script")

    ((_, row),) = dom.find("tr", class_="container", data_address="container/web")
    assert "update" in row and "memory" in row and "3072 → 1024" in row
    names = [text for _, text in dom.find("h3", class_="table-name")]
    assert names == ["lake.events.events", "lake.logs.logs"]

    sections = {a["data-table"]: text for a, text in dom.find("section")}
    buckets = {
        (a["data-range"], a["data-files"]): text for a, text in dom.find("g", class_="bucket")
    }
    assert ("< 64 KiB", "3") in buckets and ("< 64 KiB", "2") in buckets  # one per table
    assert buckets[("< 64 KiB", "3")].startswith("< 64 KiB: 3 file(s)")
    counts = [text for _, text in dom.find("text", class_="count")]
    assert counts.count("3") == 1 and counts.count("2") == 1 and counts.count("0") == 12
    assert len(dom.find("rect", class_="bar")) == 14

    due = [text for _, text in dom.find("li", class_="due")]
    assert len(due) == 1 and due[0].startswith("rewrite_data_files: ")
    assert "3 data files under 32MiB" in due[0]
    assert "rewrite_data_files" in sections["lake.events.events"]
    (deferred,) = [text for _, text in dom.find("li", class_="deferred")]
    assert "0 0 1 1 *" in deferred and "rewrite_data_files due" in deferred
    assert "snapshots3" in sections["lake.events.events"].replace(" ", "")

    runs = [text for _, text in dom.find("tr", class_="run")]
    assert any("expire_snapshots" in r and "failed" in r and HOSTILE in r for r in runs)
    assert "Last maintenance" in sections["lake.logs.logs"]

    as_json = _cli(config, pvesim, "report", "--output", "json", "-")
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    events = next(t for t in doc["tables"] if t["address"] == "table/lake.events.events")
    assert events["file_sizes"][0] == {"low": 0, "high": 65536, "files": 3, "bytes": events[
        "health"]["total_bytes"]}  # fmt: skip
    assert [d["action"] for d in events["due"]] == ["rewrite_data_files"]
    assert doc["containers"] == [
        {"address": "container/web", "vmid": 251, "node": "pve", "drift_mode": "enforce",
         "in_sync": False}
    ]  # fmt: skip


def test_report_exits_1_when_no_plan_can_be_made(
    origin: Origin, pvesim: Any, tmp_path: Path
) -> None:
    origin.commit({"specs/web.yaml": container("web", 252).replace("cores: 1", "corez: 1")})
    config = write_config(tmp_path, origin.url, pvesim)
    page = tmp_path / "lake.html"
    done = _cli(config, pvesim, "report", str(page))
    assert done.returncode == 1 and "corez" in done.stderr, done.stderr
    assert not page.exists()
