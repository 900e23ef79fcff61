"""Plan previews on pull requests: Gitea `pull_request` events -> a queue -> one worker.

The webhook only parses and queues (latest head per pull request); one worker thread
plans each head off the reconcile loop (see preview_run), so a preview never delays,
blocks or locks out the push path, and never applies anything.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from reconciler.daemon.http import Response
from reconciler.daemon.preview_comment import Head
from reconciler.settings import Settings

if TYPE_CHECKING:
    from reconciler.daemon.metrics import Metrics
    from reconciler.daemon.preview_run import Outcome

log = structlog.get_logger("reconciler.daemon.previews")

PREVIEW_ACTIONS = ("opened", "synchronized", "synchronize", "reopened")
QUEUE_LIMIT = 50  # pull requests waiting at once; a flood of new ones is refused (503)
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_BRANCH = re.compile(r"(?!.*\.\.)(?!.*\.lock$)[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}")


def _answer(code: int, **doc: str) -> Response:
    return Response(code, json.dumps(doc).encode())


@dataclass(frozen=True)
class PullRequestEvent:
    """What a Gitea `pull_request` delivery says (the fields previews use)."""

    action: str
    number: int
    head_sha: str
    head_ref: str
    base_ref: str
    repository: str  # OWNER/REPO the pull request belongs to
    merged: bool


def _field(doc: Any, *path: str) -> Any:
    for key in path:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


def parse_event(doc: dict[str, Any]) -> PullRequestEvent:
    """The event of a signed payload, or ValueError naming the first missing or bad field."""
    number = _field(doc, "pull_request", "number")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        number = _field(doc, "number")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ValueError("pull_request.number: a positive integer is required")
    strings: dict[str, str] = {}
    for name, path, pattern in (
        ("action", ("action",), None),
        ("head_sha", ("pull_request", "head", "sha"), _SHA),
        ("head_ref", ("pull_request", "head", "ref"), _BRANCH),
        ("base_ref", ("pull_request", "base", "ref"), _BRANCH),
        ("repository", ("repository", "full_name"), None),
    ):
        value = _field(doc, *path)
        if not isinstance(value, str) or not value or len(value) > 512:
            raise ValueError(f"{'.'.join(path)}: a string is required")
        if pattern is not None and not pattern.fullmatch(value):
            raise ValueError(f"{'.'.join(path)}: {value[:80]!r} is not a valid value")
        strings[name] = value
    merged = _field(doc, "pull_request", "merged") is True
    return PullRequestEvent(number=number, merged=merged, **strings)


class PreviewQueue:
    """The latest head per pull request, planned in arrival order by one worker thread."""

    def __init__(
        self,
        run: Callable[[Head], object],
        limit: int = QUEUE_LIMIT,
        unplanned: Callable[[str], object] = lambda result: None,
    ) -> None:
        """`unplanned("superseded" | "dropped")` for each queued head that is never planned."""
        self._run = run
        self._limit = limit
        self._unplanned = unplanned
        self._pending: OrderedDict[int, Head] = OrderedDict()
        self._wake = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._work, name="plan-previews", daemon=True)
        self._thread.start()

    def offer(self, head: Head) -> bool:
        """Queue `head` (replacing an older head of the same PR); False when full."""
        with self._wake:
            older = self._pending.get(head.number)
            if older is None and len(self._pending) >= self._limit:
                return False
            self._pending[head.number] = head  # keeps its place: no PR starves another
            self._wake.notify_all()
        if older is not None and older.sha != head.sha:  # a redelivery is the same preview
            self._unplanned("superseded")
        return True

    def drop(self, number: int) -> None:
        """Forget the pull request's waiting head (it was closed)."""
        with self._wake:
            dropped = self._pending.pop(number, None)
        if dropped is not None:
            self._unplanned("dropped")

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._stop:
                    self._wake.wait()
                if self._stop:
                    return
                _, head = self._pending.popitem(last=False)
            try:
                self._run(head)
            except Exception:  # a bug in one preview must not end the others
                log.exception("preview.crashed", number=head.number, sha=head.sha)

    def close(self, timeout: float = 10.0) -> None:
        """Stop after the preview in progress (bounded by `timeout`); queued ones are dropped."""
        with self._wake:
            self._stop = True
            self._wake.notify_all()
        self._thread.join(timeout=timeout)


class Previews:
    """The webhook's `pull_request` route and the queue behind it."""

    def __init__(
        self,
        repository: str,
        branch: str,
        run: Callable[[Head], object],
        close: Callable[[], None] = lambda: None,
        unplanned: Callable[[str], object] = lambda result: None,
    ) -> None:
        self._repository = repository.lower()
        self._branch = branch
        self._queue = PreviewQueue(run, unplanned=unplanned)
        self._close = close

    def handle(self, doc: dict[str, Any], delivery: str) -> Response:
        """The webhook's handler for a signed, new `pull_request` delivery."""
        try:
            event = parse_event(doc)
        except ValueError as exc:
            log.warning("preview.bad_event", delivery=delivery, error=str(exc))
            return _answer(400, error=f"pull_request event: {exc}")
        where = {"number": str(event.number), "action": event.action[:50]}
        if event.repository.lower() != self._repository:
            return _answer(202, status="ignored", reason=f"repository {event.repository[:200]}")
        if event.base_ref != self._branch:
            return _answer(202, status="ignored", reason=f"base branch {event.base_ref}")
        if event.action == "closed":
            self._queue.drop(event.number)  # merged: the push to the branch applies it
            return _answer(202, status="ignored", reason="closed", **where)
        if event.action not in PREVIEW_ACTIONS:
            return _answer(202, status="ignored", reason=f"action {event.action[:50]}")
        head = Head(event.number, event.head_sha, event.head_ref)
        if not self._queue.offer(head):
            log.warning("preview.queue_full", number=event.number)
            return _answer(503, error="too many pull requests waiting for a plan preview")
        log.info("preview.queued", delivery=delivery, number=event.number, sha=event.head_sha)
        return _answer(202, status="queued", **where)

    def close(self) -> None:
        self._queue.close()
        self._close()


def measured(
    run: Callable[[Head], Outcome], metrics: Metrics, clock: Callable[[], float] = time.monotonic
) -> Callable[[Head], Outcome]:
    """`run`, counted and timed in `metrics` by its result (`failed` when it raises)."""

    def preview(head: Head) -> Outcome:
        started, result = clock(), "failed"
        try:
            outcome = run(head)
            result = outcome.result
            return outcome
        finally:
            metrics.preview(result, clock() - started)

    return preview


def make_previews(
    settings: Settings, env: Mapping[str, str], metrics: Metrics | None = None
) -> Previews | None:
    """`daemon.previews.enabled: true` -> the previews, counted in `metrics`; ValueError on an
    unusable config."""
    if not settings.daemon.previews:
        return None
    if settings.git is None:
        raise ValueError("daemon.previews needs source.git (pull requests live in a repository)")
    from reconciler.daemon.commit_status import gitea_token
    from reconciler.daemon.gitea import GiteaApi, full_name, repo_api_base
    from reconciler.daemon.preview_run import Previewer

    token = gitea_token(settings.git, env, "daemon.previews")
    api = GiteaApi(repo_api_base(settings.git.url, settings.git.api_url), token)
    previewer = Previewer(settings, env, api)
    if metrics is None:
        return Previews(full_name(api.base), settings.git.branch, previewer.run, api.close)
    run = measured(previewer.run, metrics)
    return Previews(full_name(api.base), settings.git.branch, run, api.close, metrics.preview)


__all__ = [
    "PREVIEW_ACTIONS",
    "PreviewQueue",
    "Previews",
    "PullRequestEvent",
    "make_previews",
    "measured",
    "parse_event",
]
