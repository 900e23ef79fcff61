"""`spark.remote`: a Spark Connect URL is read; anything else is a located error."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.sources.config import ConfigError, load_settings


def _load(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reconciler.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_remote_is_read(tmp_path: Path) -> None:
    settings = load_settings(_load(tmp_path, "spark:\n  remote: sc://192.168.4.33:15002\n"))
    assert settings.spark.remote == "sc://192.168.4.33:15002"
    assert settings.spark.master == "local[2]"  # the submit mode's key stays as it was


def test_no_remote_keeps_the_submit_mode(tmp_path: Path) -> None:
    assert load_settings(_load(tmp_path, "spark: {master: 'local[2]'}\n")).spark.remote is None


def test_a_remote_that_is_not_spark_connect_is_a_located_error(tmp_path: Path) -> None:
    path = _load(tmp_path, "spark:\n  master: local[2]\n  remote: http://spark:15002\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    text = str(caught.value)
    assert f"{path}:3: spark.remote" in text, text
