"""The release FIFO between the reconciler and the shared Spark job, on a real FIFO read by
job_main's own reader: each key once, in order, then the end; a reader that opens after the
end reads the end at once; the FIFO is private and removed."""

from __future__ import annotations

import os
import queue
import stat
import threading
from pathlib import Path

from reconciler.providers.spark.job_main import read_releases
from reconciler.providers.spark.releases import ReleaseFifo


def _reader(path: Path) -> queue.SimpleQueue[str | None]:
    """As job_main opens it: non-blocking open (no writer must not mean waiting), then blocking."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(fd, True)
    got: queue.SimpleQueue[str | None] = queue.SimpleQueue()
    stream = os.fdopen(fd, encoding="utf-8")
    threading.Thread(target=read_releases, args=(stream, got), daemon=True).start()
    return got


def test_each_key_once_in_order_then_the_end(tmp_path: Path) -> None:
    fifo = ReleaseFifo(tmp_path)
    assert stat.S_ISFIFO(fifo.path.stat().st_mode)
    assert stat.S_IMODE(fifo.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(fifo.path.parent.stat().st_mode) == 0o700
    assert fifo.send("table/lake.a")  # before the job opened its end: kept in the pipe
    got = _reader(fifo.path)
    assert not fifo.send("table/lake.a")  # once only
    assert fifo.send("table/lake.b")
    fifo.end()
    assert not fifo.send("table/lake.c")  # after the end nothing is sent
    assert [got.get(timeout=10) for _ in range(3)] == ["table/lake.a", "table/lake.b", None]
    fifo.remove()
    assert not fifo.path.parent.exists()


def test_a_reader_opening_after_the_end_reads_the_end_at_once(tmp_path: Path) -> None:
    fifo = ReleaseFifo(tmp_path)
    fifo.end()  # the run ended before the job got to its releases
    got = _reader(fifo.path)
    assert got.get(timeout=10) is None
    fifo.remove()
