"""A stand-in for spark-submit in the Spark applier's unit tests: a real executable running a
test's Python body with the job's arguments, and the settings of a lake that uses it."""

from __future__ import annotations

import sys
from pathlib import Path

from reconciler.settings import Settings, SparkSettings


def stand_in_submit(tmp_path: Path, body: str) -> str:
    """The path of an executable `spark-submit` that runs `body` with its arguments."""
    script = tmp_path / "stand_in.py"
    script.write_text(body)
    submit = tmp_path / "spark-submit"
    submit.write_text(f'#!/bin/sh\nexec {sys.executable} {script} "$@"\n')
    submit.chmod(0o755)
    return str(submit)


def stand_in_settings(tmp_path: Path, body: str) -> Settings:
    """One SQLite catalog `lake`, state under tmp_path, Spark jobs run by the stand-in."""
    props = (("type", "sql"), ("uri", f"sqlite:///{tmp_path / 'c.db'}"), ("warehouse", "file:///w"))
    return Settings(
        config_file=None,
        specs=tmp_path,
        state_dir=tmp_path / "state",
        catalogs=(("lake", props),),
        spark=SparkSettings(submit=stand_in_submit(tmp_path, body), timeout=60),
    )
