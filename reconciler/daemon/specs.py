"""Where a cycle's specs come from: a git branch or a local dir, exported to a private copy.

Keeps the last good revision's copy under `<state_dir>/specs/<revision>` so the
drift timer (and a restarted daemon) reconcile exactly what was last accepted.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from reconciler.settings import Settings
from reconciler.sources.snapshot import good_dir as good_dir  # re-exported: daemon.status reads it
from reconciler.sources.snapshot import snapshot_dir

if TYPE_CHECKING:  # gitpython comes with the daemon extra: imported where used
    from reconciler.sources.git import GitSource


class SpecSource(Protocol):
    kind: str
    label: str
    root: str  # how users name the specs folder in messages (repo path or local dir)

    def latest(self) -> str:
        """Look for the newest revision (git fetch, or snapshot the dir); its id."""

    def export(self, revision: str, parent: Path) -> Path:
        """A fresh private directory holding exactly that revision's specs."""

    def commit_of(self, revision: str, spec_file: str) -> str | None:
        """The last commit that touched a spec file, when the source knows."""


class GitSpecs:
    kind = "git"

    def __init__(self, settings: Settings, env: Mapping[str, str] | None = None) -> None:
        from reconciler.sources.git import GitSource

        assert settings.git is not None
        self._git: GitSource = GitSource(
            settings.git, settings.state_dir / "git" / "cache.git", env
        )
        self.label = f"{self._git.url}#{settings.git.branch}:{settings.git.path}"
        self.root = settings.git.path.strip("/") or "."
        self.git = self._git

    def latest(self) -> str:
        return self._git.fetch()

    def export(self, revision: str, parent: Path) -> Path:
        if not self._git.known(revision):
            self._git.fetch()
        return self._git.export(revision, parent)

    def commit_of(self, revision: str, spec_file: str) -> str | None:
        return self._git.last_commit(revision, spec_file)


class DirSpecs:
    kind = "dir"

    def __init__(self, settings: Settings, work: Path) -> None:
        self.path = settings.specs
        self.label = str(settings.specs)
        self.root = str(settings.specs)
        self._work = work
        self._snapshots: dict[str, Path] = {}

    def latest(self) -> str:
        revision, copy = snapshot_dir(self.path, self._work)
        for old in self._snapshots.values():  # only the newest snapshot can be exported
            shutil.rmtree(old, ignore_errors=True)
        self._snapshots = {revision: copy}
        return revision

    def export(self, revision: str, parent: Path) -> Path:
        copy = self._snapshots.pop(revision, None)
        if copy is None or not copy.is_dir():
            raise FileNotFoundError(f"no snapshot of {self.path} at {revision}")
        return copy

    def commit_of(self, revision: str, spec_file: str) -> str | None:
        return None


def make_source(settings: Settings, env: Mapping[str, str] | None = None) -> SpecSource:
    if settings.git is not None:
        return GitSpecs(settings, env)
    return DirSpecs(settings, work_dir(settings))


def work_dir(settings: Settings) -> Path:
    return settings.state_dir / "specs" / "work"


def clear_work(settings: Settings) -> None:
    """Drop exports left by a killed daemon (they are never read again)."""
    shutil.rmtree(work_dir(settings), ignore_errors=True)


def promote(settings: Settings, revision: str, export: Path) -> Path:
    """Make `export` the last good copy; older good copies are removed afterwards."""
    target = good_dir(settings, revision)
    if export != target:
        if target.exists():
            shutil.rmtree(export, ignore_errors=True)
        else:
            os.replace(export, target)  # same filesystem: atomic
    for old in target.parent.glob("good-*"):
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return target


def good_copy(settings: Settings, source: SpecSource, revision: str) -> Path | None:
    """The last good revision's copy, re-exported from git after a restart if needed."""
    target = good_dir(settings, revision)
    if target.is_dir():
        return target
    if source.kind != "git":
        return None
    return promote(settings, revision, source.export(revision, work_dir(settings)))


def user_paths(text: str, export: Path, source: SpecSource) -> str:
    """Rewrite private export paths in a message to the paths users know (specs/a.yaml:3)."""
    return text.replace(f"{export}/", f"{source.root}/").replace(str(export), source.root)


def relative_spec_file(file: str, specs_dir: Path) -> str:
    """A spec's source file relative to the exported dir (what `git log -- path` needs)."""
    path = Path(file)
    if path.is_absolute():
        try:
            return path.resolve().relative_to(specs_dir.resolve()).as_posix()
        except ValueError:
            return path.name
    return path.as_posix()
