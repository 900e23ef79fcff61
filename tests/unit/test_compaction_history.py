"""Compaction's inputs from outside the differ: the cluster from `spark:` config, past rewrites
from the history store, the engine's cluster; bad config named by file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.diff.compaction_tuning import Cluster, RewriteRun
from reconciler.engine.planning import cluster_for
from reconciler.sources.config import ConfigError, load_settings
from reconciler.store import ActionRecord, CycleRecord, Store


def _cycle(*actions: ActionRecord) -> CycleRecord:
    return CycleRecord(
        "2026-12-01T00:00:00+00:00", "2026-12-01T00:01:00+00:00", 60.0, None, "cli", "success",
        actions=actions,
    )  # fmt: skip


def test_store_keeps_each_tables_applied_rewrites_newest_first(tmp_path: Path) -> None:
    store = Store(tmp_path)
    a, b = "table/lake.db.a", "table/lake.db.b"
    ok = "rewrote 30 data files into 1 (1000 bytes) in 2.5s"
    store.record(_cycle(ActionRecord(a, "rewrite_data_files", "applied", ok, 60.0)))
    store.record(
        _cycle(
            ActionRecord(a, "rewrite_data_files", "applied", ok.replace("2.5s", "4.0s"), 9.0),
            ActionRecord(a, "rewrite_data_files", "failed", "rewrite_data_files failed: x", 1.0),
            ActionRecord(a, "expire_snapshots", "applied", "expired snapshots in 1.0s", 1.0),
            ActionRecord(b, "rewrite_data_files", "applied", "something else", 1.0),
        )
    )
    # The procedure's seconds (from the message), not the line's (which includes the JVM).
    assert store.rewrite_history() == {a: [RewriteRun(1000, 4.0), RewriteRun(1000, 2.5)]}
    assert store.rewrite_history(per_table=1) == {a: [RewriteRun(1000, 4.0)]}


def _config(tmp_path: Path, spark: str) -> Path:
    path = tmp_path / "reconciler.yaml"
    path.write_text(f"state_dir: state\nspark:\n{spark}")
    return path


def test_spark_cores_and_partial_progress_size_reach_the_cluster(tmp_path: Path) -> None:
    settings = load_settings(_config(tmp_path, "  cores: 12\n  partialProgressSize: 2GiB\n"))
    assert cluster_for(settings) == Cluster(12, "spark.cores", 2 * 1024**3)
    plain = load_settings(_config(tmp_path, "  master: local[3]\n"))
    assert cluster_for(plain).cores == 3


@pytest.mark.parametrize(
    ("spark", "where"),
    [
        ("  cores: 0\n", "spark.cores"),
        ("  partialProgressSize: 2GB\n", "spark.partialProgressSize"),
        ("  partialProgressSize: lots\n", "spark.partialProgressSize"),
    ],
)
def test_bad_tuning_keys_are_named(tmp_path: Path, spark: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_config(tmp_path, spark))
    text = str(caught.value)
    assert "reconciler.yaml:3" in text and where in text, text
