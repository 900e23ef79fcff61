"""A dir-mode daemon with a symlink out of its specs tree to a FIFO: the cycle fails naming the
path, nothing is copied or applied, and SIGTERM still stops it at once (issue 14: a link to
/dev/zero was copied, 693 MB in 1.5 s, and SIGTERM ignored; a FIFO makes the same defect hang
this test instead of filling the disk)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from daemon_harness import DaemonProcess, container, write_config


def _dir_config(tmp_path: Path, pvesim: Any, specs: Path) -> Path:
    config = write_config(tmp_path, "unused", pvesim, poll="1s")
    lines = config.read_text().splitlines()
    start = lines.index("source:")
    del lines[start : start + 2]
    config.write_text("\n".join([f"specs: {specs}", *lines, ""]))
    return config


def test_a_symlink_out_of_the_tree_is_refused_and_sigterm_is_heard(
    pvesim: Any, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.yaml").write_text(container("a", 251))
    os.mkfifo(tmp_path / "fifo")
    (specs / "zero.yaml").symlink_to(tmp_path / "fifo")
    daemon = DaemonProcess(_dir_config(tmp_path, pvesim, specs), pvesim).start()
    daemons.append(daemon)
    failed = daemon.until(
        "the refused snapshot",
        lambda: next((c for c in daemon.history() if c["result"] == "failed"), None),
    )
    link = specs / "zero.yaml"
    assert f"{link}:1: symlink leaves the specs tree (-> {tmp_path / 'fifo'})" in failed["error"]
    assert all(c["result"] != "success" for c in daemon.history())
    copied = sum(p.stat().st_size for p in (tmp_path / "state").rglob("*") if p.is_file())
    assert copied < 10 * 1024 * 1024
    started = time.monotonic()
    assert daemon.stop() is not None
    assert time.monotonic() - started < 10
