"""Which specs tree a CLI command reads: the daemon's revision in force, or any REF of the source.

Read-only towards the daemon: the CLI fetches into its own cache (`<state>/git/cli.git`)
and never writes the store's `good_revision`, so a preview cannot move what the daemon runs.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from reconciler.settings import Settings


class RevisionError(RuntimeError):
    """The REF is unknown, or --revision was given without a git source."""


def source_errors(settings: Settings) -> tuple[type[Exception], ...]:
    """What a bad REF or an unreachable origin raises; GitPython (the daemon extra) is
    imported only when source.git is configured, so a base install runs the base commands."""
    if settings.git is None:
        return (RevisionError,)
    from reconciler.sources.git import GitSourceError

    return (RevisionError, GitSourceError)


@dataclass(frozen=True)
class SpecsTree:
    """The settings to run with (`specs` pointing at the tree) and the revision it holds."""

    settings: Settings
    revision: str | None  # git SHA, a dir digest (dir-...), or None when unreadable
    label: str  # how the revision was chosen, e.g. "origin/main" or "daemon"

    @property
    def message(self) -> str | None:
        """`Using revision abc1234 (origin/main)` for git sources; None for a local dir."""
        if self.settings.git is None or self.revision is None:
            return None
        return f"Using revision {self.revision[:7]} ({self.label})"


def _daemon_revision(settings: Settings) -> str | None:
    from reconciler.store import DB_NAME, Store

    if not (settings.state_dir / DB_NAME).exists():
        return None  # no daemon ever ran here: do not create its state dir
    value = Store(settings.state_dir).get("good_revision")
    return str(value) if value else None


def dir_digest(specs: Path) -> str | None:
    """The content digest of a local specs tree (what history records without git)."""
    from reconciler.sources.snapshot import dir_revision

    return dir_revision(specs) if specs.is_dir() else None


@contextmanager
def specs_tree(
    settings: Settings, ref: str | None = None, env: Mapping[str, str] | None = None
) -> Iterator[SpecsTree]:
    """Yield the tree a command reads; a temporary export is removed afterwards.

    Without source.git: the configured specs dir (`--revision` is refused). With it and no
    REF: the daemon's revision in force (its good copy, else exported), or the branch tip
    when the daemon never fetched. With a REF: that commit of the source.
    """
    if settings.git is None:
        if ref is not None:
            raise RevisionError("--revision needs source.git in the config")
        yield SpecsTree(settings, dir_digest(settings.specs), "dir")
        return
    from reconciler.sources.git import GitSource
    from reconciler.sources.snapshot import good_dir

    branch = settings.git.branch
    revision = _daemon_revision(settings) if ref is None else None
    if revision is not None and good_dir(settings, revision).is_dir():
        copy = good_dir(settings, revision)
        yield SpecsTree(replace(settings, specs=copy), revision, f"daemon, origin/{branch}")
        return
    source = GitSource(settings.git, settings.state_dir / "git" / "cli.git", env)
    if ref is not None:
        source.fetch_all()
        revision = source.resolve(ref)
        if revision is None:
            raise RevisionError(f"unknown revision {ref!r} in {source.url}")
        label = ref
    elif revision is not None:  # the daemon's revision, its copy gone: re-export it
        if not source.known(revision):
            source.fetch()
        label = f"daemon, origin/{branch}"
    else:  # the daemon never fetched: the branch tip, without recording anything
        revision = source.fetch()
        label = f"origin/{branch}, not yet reconciled by the daemon"
    parent = Path(tempfile.mkdtemp(prefix="reconcile-revision-"))
    try:
        export = source.export(revision, parent)
        yield SpecsTree(replace(settings, specs=export), revision, label)
    finally:
        shutil.rmtree(parent, ignore_errors=True)
