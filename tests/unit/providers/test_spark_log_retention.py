"""Spark job logs are kept per table, newest first, so the state directory never grows
without bound."""

from __future__ import annotations

from pathlib import Path

from reconciler.providers.spark.runner import prune_logs


def test_only_the_newest_logs_of_that_table_are_kept(tmp_path: Path) -> None:
    for day in range(1, 6):
        (tmp_path / f"2026110{day}T020000-lake.sales.orders.log").write_text("x")
    (tmp_path / "20260101T020000-lake.raw.events.log").write_text("other table")
    prune_logs(tmp_path, "lake.sales.orders", keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "20260101T020000-lake.raw.events.log",
        "20261104T020000-lake.sales.orders.log",
        "20261105T020000-lake.sales.orders.log",
    ]
