"""Shared pytest configuration: registers project pytest plugins, compiles the package once."""

import compileall
from pathlib import Path

import pytest

pytest_plugins = ["reconciler.testing.pvesim.fixtures", "reconciler.testing.hms.fixtures"]

ROOT = Path(__file__).resolve().parents[1]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Write the checkout's bytecode before any test starts a `reconcile` subprocess.

    With PYTHONDONTWRITEBYTECODE set (as on some hosts) no process writes it, so every one of
    the hundreds of CLI, daemon and bench subprocesses would compile each module it imports
    again (about 0.35 s apiece). compileall writes regardless and skips what is up to date;
    Python still checks each file's source stamp, so an edited module is never run stale."""
    for package in ("reconciler", "bench"):
        compileall.compile_dir(ROOT / package, quiet=1)
