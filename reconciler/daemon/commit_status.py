"""Gitea commit statuses (pending -> success/failure) for reconciled commits, off the cycle path.

Posts go through one worker thread in order; a slow or failing Gitea only costs a log
line, never a cycle. The token travels in the Authorization header only.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import requests
import structlog

from reconciler.daemon.logs import mask_text
from reconciler.settings import GitSourceSettings
from reconciler.sources.config import loopback_host

log = structlog.get_logger("reconciler.daemon")

CONTEXT = "datalake-reconciler"
TIMEOUT = 10.0  # seconds per request (connect and read)
MAX_DESCRIPTION = 255
STATES = ("pending", "success", "failure", "error")
_QUEUE_LIMIT = 100  # a dead Gitea must not grow memory without bound


def status_url_template(clone_url: str, api_url: str | None = None) -> str:
    """The statuses endpoint with a `{sha}` placeholder.

    `https://host/owner/repo.git` -> `https://host/api/v1/repos/owner/repo/statuses/{sha}`
    (a Gitea under a sub-path keeps it). Other clone URLs need `api_url`.
    """
    if api_url:
        return api_url if "{sha}" in api_url else api_url.rstrip("/") + "/{sha}"
    parts = urlsplit(clone_url)
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme not in ("https", "http") or len(segments) < 2:
        raise ValueError(
            "source.git.commit_status needs source.git.api_url for this url "
            "(it is derived only from an https://host/owner/repo.git url)"
        )
    owner, repo = segments[-2], segments[-1].removesuffix(".git")
    prefix = "/".join(segments[:-2])
    path = f"/{prefix}/api/v1" if prefix else "/api/v1"
    netloc = parts.netloc.rsplit("@", 1)[-1]  # never carry user info into the API URL
    return (
        urlunsplit((parts.scheme, netloc, f"{path}/repos/{owner}/{repo}/statuses/", "", ""))
        + "{sha}"
    )


def check_token_url(url: str, what: str) -> None:
    """A Gitea token travels over https only (plain http to loopback), never in the URL."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback_host(parts.hostname)):
        raise ValueError(f"{what} send the token over https only (or to loopback)")
    if parts.username or parts.password:
        raise ValueError(f"credentials in the {what} URL are refused; use token_env")


def gitea_token(cfg: GitSourceSettings, env: Mapping[str, str], key: str) -> str:
    """The token of `source.git.token_env`; ValueError naming `key` when it is unset."""
    token = env.get(cfg.token_env or "", "") if cfg.token_env else ""
    if not token:
        raise ValueError(
            f"{key} needs source.git.token_env naming a non-empty environment "
            "variable (a Gitea token; scopes: docs/daemon.md)"
        )
    return token


def describe(result: str, summary: Mapping[str, int] | None, error: str | None) -> str:
    """One line for Gitea: the plan summary on success, the first problem otherwise."""
    if result == "pending":
        return "reconciling"
    if result == "success":
        parts = [f"{n} {action}" for action, n in sorted((summary or {}).items())]
        text = "applied: " + ", ".join(parts) if parts else "in sync, no changes"
    else:
        lines = [ln.strip() for ln in (error or "").splitlines() if ln.strip()]
        if lines and lines[0].endswith(":") and len(lines) > 1:
            lines = [lines[0] + " " + lines[1], *lines[2:]]
        label = "specs rejected" if result == "rejected" else "failed"
        text = f"{label}: " + "; ".join(lines) if lines else label
    text = mask_text(text)  # an exception text may quote a header or a URL with a token
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 3] + "..."


class CommitStatuses:
    """Queue of (sha, state, description) posted by a worker thread; `close` drains briefly."""

    def __init__(self, template: str, token: str, timeout: float = TIMEOUT) -> None:
        check_token_url(template, "commit statuses")
        self._template = template
        self._token = token
        self._timeout = timeout
        self._queue: queue.Queue[tuple[str, str, str] | None] = queue.Queue(_QUEUE_LIMIT)
        self._last: dict[str, str] = {}
        self._thread = threading.Thread(target=self._work, name="commit-status", daemon=True)
        self._thread.start()

    def post(self, sha: str, state: str, description: str, only_changes: bool = False) -> None:
        """Queue one status; with `only_changes`, skip it when `sha` already shows `state`."""
        if only_changes and self._last.get(sha) == state:
            return
        self._last[sha] = state
        try:
            self._queue.put_nowait((sha, state, description))
        except queue.Full:
            log.warning("commit_status.dropped", sha=sha, state=state)

    def _work(self) -> None:
        session = requests.Session()
        session.trust_env = False  # no netrc credentials or proxy from the environment
        headers = {"Authorization": f"token {self._token}", "Accept": "application/json"}
        while (item := self._queue.get()) is not None:
            sha, state, description = item
            body = {"state": state, "context": CONTEXT, "description": description}
            try:
                answer = session.post(
                    self._template.replace("{sha}", sha),
                    json=body,
                    headers=headers,
                    timeout=self._timeout,
                    allow_redirects=False,
                )  # never replay the token elsewhere
                if answer.status_code >= 300:
                    log.warning(
                        "commit_status.rejected",
                        sha=sha,
                        state=state,
                        code=answer.status_code,
                        body=answer.text[:200],
                    )
                else:
                    log.info("commit_status.posted", sha=sha, state=state)
            except requests.RequestException as exc:
                log.warning(
                    "commit_status.failed",
                    sha=sha,
                    state=state,
                    error=f"{type(exc).__name__}: {mask_text(str(exc))[:200]}",
                )
        session.close()

    def close(self, timeout: float = 5.0) -> None:
        """Post what is queued (bounded by `timeout`), then stop the worker."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout=timeout)


def make_statuses(cfg: GitSourceSettings | None, env: Mapping[str, str]) -> CommitStatuses | None:
    """The poster for `source.git.commit_status: true`; ValueError on an unusable config."""
    if cfg is None or not cfg.commit_status:
        return None
    token = gitea_token(cfg, env, "source.git.commit_status")
    return CommitStatuses(status_url_template(cfg.url, cfg.api_url), token)


__all__ = [
    "CONTEXT",
    "CommitStatuses",
    "check_token_url",
    "describe",
    "gitea_token",
    "make_statuses",
    "status_url_template",
]
