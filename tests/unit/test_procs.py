"""reconciler.testing.procs finds a real child process named like a JVM, and leaves out an
excluded tree."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.testing.procs import java_descendants


@pytest.fixture
def fake_java(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    sleep = shutil.which("sleep")
    assert sleep is not None
    binary = tmp_path / "java"
    shutil.copy(sleep, binary)  # the command name /proc shows is the binary's: "java"
    child = subprocess.Popen([str(binary), "30"])
    try:
        yield child
    finally:
        child.kill()
        child.wait()


def test_a_java_child_is_found_and_an_excluded_one_is_not(
    fake_java: subprocess.Popen[bytes],
) -> None:
    me = os.getpid()
    assert f"{fake_java.pid} java" in java_descendants(me)
    assert f"{fake_java.pid} java" not in java_descendants(me, exclude=fake_java.pid)
    assert f"{fake_java.pid} java" not in java_descendants(fake_java.pid)  # not below itself
