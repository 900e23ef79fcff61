"""A local spec directory's content revision and private snapshot copy (stdlib only)."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from reconciler.settings import Settings


def good_dir(settings: Settings, revision: str) -> Path:
    """Where the last accepted revision's specs are kept (the daemon writes, the CLI reads)."""
    return settings.state_dir / "specs" / f"good-{revision}"


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
