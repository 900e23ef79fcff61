"""One plan preview: fetch the pull-request head, export it, plan it, post comment and status.

Runs on the preview worker thread: its own git cache (never the daemon's), its own export
directory under `<state_dir>/previews/`, no cycle lock, and deps without any applier.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from reconciler.daemon.gitea import GiteaApi, GiteaError
from reconciler.daemon.preview_comment import (
    CONTEXT,
    MARKER,
    Head,
    error_comment,
    invalid_comment,
    plan_comment,
    plan_summary,
    short,
)
from reconciler.daemon.secret_values import mask, secret_values
from reconciler.settings import Settings

if TYPE_CHECKING:  # gitpython comes with the daemon extra: imported where used
    from reconciler.sources.git import GitSource

log = structlog.get_logger("reconciler.daemon.previews")
# The commit status a preview set -> its `reconciler_previews_total{result}` (daemon.metrics).
RESULTS = {"success": "planned", "failure": "invalid", "error": "failed"}


@dataclass(frozen=True)
class Outcome:
    """What a preview posts: the commit status and the comment body."""

    state: str  # success | failure | error
    description: str
    comment: str

    @property
    def result(self) -> str:
        """planned, invalid or failed: the preview's result in the daemon's metrics."""
        return RESULTS[self.state]


def work_dir(settings: Settings) -> Path:
    return settings.state_dir / "previews"


class Previewer:
    """Plans pull-request heads and keeps one comment per pull request up to date."""

    def __init__(self, settings: Settings, env: Mapping[str, str], api: GiteaApi) -> None:
        from reconciler.sources.git import GitSource

        assert settings.git is not None
        self._settings = settings
        self._api = api
        self._git: GitSource = GitSource(
            settings.git, settings.state_dir / "git" / "previews.git", env
        )
        self._root = settings.git.path.strip("/") or "."
        self._secrets = secret_values(settings, env)
        self._comments: dict[int, int] = {}  # PR number -> our comment's id
        self._deps: Any = None
        shutil.rmtree(work_dir(settings) / "work", ignore_errors=True)  # a killed run's exports

    def run(self, head: Head) -> Outcome:
        structlog.contextvars.bind_contextvars(pull_request=head.number, sha=head.sha[:12])
        try:
            self._status(head, "pending", "planning, nothing is applied")
            outcome = self._preview(head)
            self._comment(head, mask(outcome.comment, self._secrets))
            self._status(head, outcome.state, outcome.description)
            log.info("preview.posted", state=outcome.state, summary=outcome.description)
            return outcome
        finally:
            structlog.contextvars.unbind_contextvars("pull_request", "sha")

    # planning -------------------------------------------------------------------------
    def _fetch(self, head: Head) -> None:
        """Gitea keeps `refs/pull/N/head` on the base repository (fork PRs too); a same-repo
        PR's branch is the fallback for a server without those refs."""
        from reconciler.sources.git import GitSourceError

        local = f"refs/previews/{head.number}"
        try:
            self._git.fetch_ref(f"refs/pull/{head.number}/head", local)
        except GitSourceError as exc:
            log.info("preview.no_pull_ref", error=str(exc))
            self._git.fetch_ref(f"refs/heads/{head.ref}", local)
        if not self._git.known(head.sha):
            raise GitSourceError(
                f"commit {head.sha[:12]} is not on refs/pull/{head.number}/head "
                f"or {head.ref} of {self._git.url} (pushed over since?)"
            )

    def _preview(self, head: Head) -> Outcome:
        from reconciler.sources.git import GitSourceError, GitTreeError

        try:
            self._fetch(head)
            export = self._git.export(head.sha, work_dir(self._settings) / "work")
        except GitTreeError as exc:  # the commit itself has no usable specs folder
            return self._invalid(head, [str(exc)])
        except (GitSourceError, OSError) as exc:
            return self._error(head, f"source: {exc}")
        try:
            return self._plan(head, export)
        finally:
            shutil.rmtree(export, ignore_errors=True)

    def _plan(self, head: Head, export: Path) -> Outcome:
        from reconciler.engine import NotPlanned, RunOptions, plan_once

        try:
            result = plan_once(self._settings, export, RunOptions(), self._planning_deps())
        except Exception as exc:  # a broken edge: reported on the PR, the daemon lives on
            log.exception("preview.plan_crashed")
            return self._error(head, f"{type(exc).__name__}: {exc}")
        planned = result.planned
        if planned is None:
            text = self._user_paths(result.error or "", export)
            if result.reason is NotPlanned.INVALID_SPECS:
                problems = [ln for ln in text.splitlines()[1:] if ln.strip()]
                return self._invalid(head, problems or [text])
            return self._error(head, text)
        summary = plan_summary(planned.plan)
        problem = mask(planned.error, self._secrets) if planned.error else None
        comment = plan_comment(head, planned.plan, planned.notes, problem)
        if problem:
            return Outcome("error", short(f"plan incomplete ({summary}): {problem}"), comment)
        return Outcome("success", short(summary), comment)

    def _planning_deps(self) -> Any:
        """The real observers; no applier and no backoff writes: a preview changes nothing."""
        if self._deps is None:
            from reconciler.wiring import build_deps

            self._deps = replace(
                build_deps(self._settings),
                appliers=lambda desired, plan: (),
                save_maintenance_failures=None,
            )
        return self._deps

    def _user_paths(self, text: str, export: Path) -> str:
        """Private export paths -> the repository paths users know (specs/b.yaml:6)."""
        return text.replace(f"{export}/", f"{self._root}/").replace(str(export), self._root)

    def _invalid(self, head: Head, problems: list[str]) -> Outcome:
        problems = [mask(p, self._secrets) for p in problems]
        first = problems[0] if problems else "invalid specs"
        description = short(f"specs invalid, {len(problems)} problem(s): {first}")
        return Outcome("failure", description, invalid_comment(head, problems))

    def _error(self, head: Head, why: str) -> Outcome:
        why = mask(why, self._secrets)
        log.warning("preview.failed", error=why)
        return Outcome("error", short(f"no plan: {why}"), error_comment(head, why))

    # posting ----------------------------------------------------------------------------
    def _status(self, head: Head, state: str, description: str) -> None:
        try:
            self._api.status(head.sha, state, CONTEXT, mask(description, self._secrets))
        except GiteaError as exc:
            log.warning("preview.status_failed", state=state, error=str(exc))

    def _comment(self, head: Head, body: str) -> None:
        """Edit our comment in place (found by its marker after a restart), else create it."""
        try:
            known = self._comments.get(head.number) or self._find(head.number)
            if known is not None:
                try:
                    self._api.edit_comment(known, body)
                    self._comments[head.number] = known
                    return
                except GiteaError as exc:
                    if exc.code not in (403, 404):  # deleted, or not ours: make a new one
                        raise
                    log.info("preview.comment_gone", comment=known, code=exc.code)
            self._comments[head.number] = self._api.create_comment(head.number, body)
        except GiteaError as exc:
            log.warning("preview.comment_failed", error=str(exc))

    def _find(self, number: int) -> int | None:
        ours = [
            c["id"]
            for c in self._api.comments(number)
            if isinstance(c.get("id"), int) and str(c.get("body", "")).startswith(MARKER)
        ]
        return int(ours[-1]) if ours else None


__all__ = ["Outcome", "Previewer", "work_dir"]
