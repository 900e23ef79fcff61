"""Fixtures for the daemon tests: a bare origin and `git daemon` on loopback."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_gitrepo import Origin, free_port, wait_port
from daemon_harness import DaemonProcess


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    return Origin(tmp_path)


@pytest.fixture
def git_daemon(origin: Origin) -> Iterator[str]:
    """`git daemon` serving the origin's parent dir; yields the git:// URL of the repo."""
    port = free_port()
    base = origin.bare.parent
    proc = subprocess.Popen(
        [
            "git",
            "daemon",
            "--export-all",
            f"--base-path={base}",
            f"--port={port}",
            "--reuseaddr",
            "--listen=127.0.0.1",
            "--informative-errors",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        yield f"git://127.0.0.1:{port}/{origin.bare.name}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    """Daemon processes a test started; each is stopped (SIGTERM, then SIGKILL) at teardown."""
    started: list[DaemonProcess] = []
    yield started
    problems: list[BaseException] = []
    for proc in started:  # stop every one, even after a failure, so none is left behind
        try:
            proc.stop()
        except Exception as exc:
            problems.append(exc)
    if problems:
        raise problems[0]
