"""A local spec directory's content revision and private snapshot copy (stdlib only)."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from reconciler.settings import Settings
from reconciler.sources.tree import TreeProblem, read_bounded, scan_tree


class SnapshotRefused(ValueError):
    """The spec dir holds what validate refuses (symlinks out, devices, FIFOs, oversize):
    nothing is copied, the cycle fails naming each path."""

    def __init__(self, problems: tuple[TreeProblem, ...]) -> None:
        super().__init__("; ".join(f"{p.path}:1: {p.message}" for p in problems))
        self.problems = problems


def good_dir(settings: Settings, revision: str) -> Path:
    """Where the last accepted revision's specs are kept (the daemon writes, the CLI reads)."""
    return settings.state_dir / "specs" / f"good-{revision}"


def dir_revision(path: Path) -> str:
    """A content hash of every file under `path` (names and bytes), stable across copies;
    reads at most the size cap of each file, never a device or FIFO."""
    digest = hashlib.sha256()
    files, _ = scan_tree(path)
    for file in files:
        rel = file.path.relative_to(path).as_posix()
        digest.update(rel.encode() + b"\0")
        try:
            digest.update(hashlib.sha256(read_bounded(file.real)).digest())
        except OSError:
            digest.update(b"unreadable")
    return "dir-" + digest.hexdigest()[:36]


def snapshot_dir(source: Path, parent: Path) -> tuple[str, Path]:
    """Copy `source` into a fresh dir under `parent`; (revision of the copy, copy).

    The cycle reads the copy, so an editor saving mid-cycle cannot mix two versions. The tree
    is checked first (lstat only) and each file copied with a bounded read, so a symlink to
    /dev/zero or a huge file costs nothing: SnapshotRefused names them (validate does too).
    """
    files, problems = scan_tree(source)
    if problems:
        raise SnapshotRefused(problems)
    parent.mkdir(parents=True, exist_ok=True)
    dest = Path(tempfile.mkdtemp(prefix="dir-", dir=parent))
    try:
        for file in files:
            target = dest / file.path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(read_bounded(file.real))  # one past the cap stays refusable
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return dir_revision(dest), dest
