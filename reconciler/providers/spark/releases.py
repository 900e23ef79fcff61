"""The release FIFO of a shared Spark application: how a gated table hears its turn came.

spark-submit gives the Python driver no stdin, so the reconciler and the job share a FIFO
(0600, in a 0700 directory of the state dir). This end is opened read-write: opening never
blocks, writes never fail for want of a reader, and the job reads its end of file only when
this end closes, or when this process dies, so a job is never left waiting for releases.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path


class ReleaseFifo:
    """One run's FIFO: `send(key)` releases a table once; `end()` tells the job no more come."""

    def __init__(self, work: Path) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="releases-", dir=work)) / "fifo"
        os.mkfifo(self.path, 0o600)
        self._fd: int | None = os.open(self.path, os.O_RDWR)  # not inherited (O_CLOEXEC)
        self._lock = threading.Lock()
        self.sent: set[str] = set()

    def send(self, key: str) -> bool:
        """Release `key`; False if it was released already or the releases have ended."""
        with self._lock:
            if self._fd is None or key in self.sent:
                return False
            self.sent.add(key)
            os.write(self._fd, json.dumps({"release": key}).encode() + b"\n")
            return True

    def end(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def remove(self) -> None:
        """End the releases and remove the FIFO and its directory."""
        self.end()
        self.path.unlink(missing_ok=True)
        self.path.parent.rmdir()
