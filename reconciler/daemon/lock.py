"""The one-cycle-at-a-time file lock shared by the daemon and `reconcile apply`; no policy."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = "reconcile.lock"


class LockBusy(RuntimeError):
    """Another process (daemon or CLI) is reconciling right now."""

    def __init__(self, path: Path, holder: str) -> None:
        who = f" (held by pid {holder})" if holder else ""
        super().__init__(f"another reconcile is running{who}: {path}")
        self.path = path
        self.holder = holder


def _holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""


@contextmanager
def cycle_lock(state_dir: Path, wait: bool) -> Iterator[Path]:
    """Hold an exclusive flock on `<state_dir>/reconcile.lock` for the block.

    wait=False raises LockBusy at once when someone else holds it. The kernel
    drops the lock when the holder dies, so a SIGKILLed daemon never wedges it.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockBusy(path, _holder(fd)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
