"""What a specs tree may hold before anything is read or copied: regular files inside the
tree, at most MAX_FILE_BYTES each and MAX_TREE_BYTES / MAX_TREE_FILES in all (lstat only)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 1024 * 1024  # a spec file is a few KiB; refuse before reading more
MAX_TREE_BYTES = 64 * 1024 * 1024  # every file of the tree together
MAX_TREE_FILES = 10_000


@dataclass(frozen=True)
class TreeFile:
    """A file the tree holds: `path` as the user sees it, `real` what reading it reads."""

    path: Path
    real: Path
    size: int


@dataclass(frozen=True)
class TreeProblem:
    path: Path
    message: str


def _visible(name: str) -> bool:
    return not name.startswith(".") and not name.endswith("~")


def _check_file(root: Path, path: Path, shown: Path) -> TreeFile | TreeProblem:
    info = os.lstat(path)
    real = path
    if stat.S_ISLNK(info.st_mode):
        real = path.resolve()
        if not real.is_relative_to(root):
            return TreeProblem(shown, f"symlink leaves the specs tree (-> {real}); refused")
        try:
            info = os.stat(real)
        except OSError:
            return TreeProblem(shown, f"symlink target does not exist (-> {real}); refused")
    if not stat.S_ISREG(info.st_mode):
        what = "a symlink to something that is not" if real != path else "not"
        return TreeProblem(shown, f"{what} a regular file (device, FIFO or socket); refused")
    if info.st_size > MAX_FILE_BYTES:
        return TreeProblem(shown, f"file is larger than {MAX_FILE_BYTES // 1024} KiB; refused")
    return TreeFile(shown, real, info.st_size)


def scan_tree(
    root: Path, keep: Callable[[Path], bool] = lambda _: True
) -> tuple[tuple[TreeFile, ...], tuple[TreeProblem, ...]]:
    """Every visible file under `root` (dot-names and `*~` skipped) that `keep` selects, sorted,
    and every problem: symlinks out of the tree or to non-regular files, symlinked
    directories, devices and FIFOs, files over the size cap, a tree over its caps."""
    real_root = root.resolve()
    files: list[TreeFile] = []
    problems: list[TreeProblem] = []
    total = 0
    for folder, dirs, names in os.walk(real_root, followlinks=False):
        base = Path(folder)
        shown_base = root / base.relative_to(real_root)
        dirs[:] = sorted(d for d in dirs if _visible(d))
        for name in list(dirs):
            if (base / name).is_symlink():
                dirs.remove(name)
                target = (base / name).resolve()
                message = f"symlink to a directory (-> {target}); refused"
                problems.append(TreeProblem(shown_base / name, message))
        for name in sorted(n for n in names if _visible(n)):
            path = base / name
            if not keep(shown_base / name):
                continue
            found = _check_file(real_root, path, shown_base / name)
            if isinstance(found, TreeProblem):
                problems.append(found)
                continue
            files.append(found)
            total += found.size
            if len(files) > MAX_TREE_FILES:
                problems.append(TreeProblem(root, f"more than {MAX_TREE_FILES} files; refused"))
                return tuple(files), tuple(problems)
    if total > MAX_TREE_BYTES:
        limit = MAX_TREE_BYTES // (1024 * 1024)
        problems.append(TreeProblem(root, f"the files hold more than {limit} MiB; refused"))
    return tuple(files), tuple(problems)


def read_bounded(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """At most `limit` + 1 bytes of a regular file (a file that grew past the cap since the scan
    stays refusable); never blocks on a FIFO swapped in since the scan."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        return stream.read(limit + 1)
