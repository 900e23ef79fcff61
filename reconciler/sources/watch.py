"""A local spec directory's watchdog trigger (the daemon extra); snapshots live in snapshot.py."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from reconciler.sources.snapshot import dir_revision, snapshot_dir

__all__ = ["DirWatcher", "dir_revision", "snapshot_dir"]


class _Handler(FileSystemEventHandler):
    def __init__(self, fire: Callable[[], None]) -> None:
        self._fire = fire

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in ("opened", "closed_no_write"):
            self._fire()


class DirWatcher:
    """Calls `on_change` once per burst of file events (debounced by `settle` seconds)."""

    def __init__(self, path: Path, on_change: Callable[[], None], settle: float = 0.5) -> None:
        self._path = path
        self._on_change = on_change
        self._settle = settle
        self._timer: threading.Timer | None = None
        self._guard = threading.Lock()
        self._observer = Observer()

    def _fire(self) -> None:
        with self._guard:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._settle, self._on_change)
            self._timer.daemon = True
            self._timer.start()

    def start(self) -> None:
        self._observer.schedule(_Handler(self._fire), str(self._path), recursive=True)
        self._observer.daemon = True
        self._observer.start()

    def stop(self) -> None:
        with self._guard:
            if self._timer is not None:
                self._timer.cancel()
        self._observer.stop()
        self._observer.join(timeout=5)
