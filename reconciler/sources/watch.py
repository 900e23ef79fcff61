"""A local spec directory as a source: content revision, snapshot copy, watchdog trigger."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer


def dir_revision(path: Path) -> str:
    """A content hash of every file under `path` (names and bytes), stable across copies."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = file.relative_to(path).as_posix()
        digest.update(rel.encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return "dir-" + digest.hexdigest()[:36]


def snapshot_dir(source: Path, parent: Path) -> tuple[str, Path]:
    """Copy `source` into a fresh dir under `parent`; (revision of the copy, copy).

    The cycle reads the copy, so an editor saving mid-cycle cannot mix two versions.
    """
    parent.mkdir(parents=True, exist_ok=True)
    dest = Path(tempfile.mkdtemp(prefix="dir-", dir=parent))
    shutil.copytree(
        source,
        dest,
        symlinks=False,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(".git", ".*.swp", "*~"),
    )
    return dir_revision(dest), dest


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
