"""The Gitea API calls of plan previews: pull-request comments and commit statuses.

Used from the preview worker thread only (one session). The token travels in the
Authorization header only; redirects are never followed; error texts are masked.
"""

from __future__ import annotations

import re
from typing import Any

import requests

from reconciler.daemon.commit_status import check_token_url, status_url_template
from reconciler.daemon.logs import mask_text

TIMEOUT = 10.0  # seconds per request (connect and read)
_REPO_BASE = re.compile(r"(?P<base>https?://[^\s]+/repos/[^/\s]+/[^/\s]+)/statuses/\{sha\}")


class GiteaError(RuntimeError):
    """Gitea refused or could not be reached; `code` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


def repo_api_base(clone_url: str, api_url: str | None = None) -> str:
    """`https://host/api/v1/repos/OWNER/REPO`, from the clone URL or the status `api_url`."""
    try:
        template = status_url_template(clone_url, api_url)
    except ValueError:
        template = ""
    match = _REPO_BASE.fullmatch(template)
    if match is None:
        raise ValueError(
            "daemon.previews needs an https://HOST/OWNER/REPO.git source.git.url or "
            "source.git.api_url of the form https://HOST/api/v1/repos/OWNER/REPO/statuses/{sha}"
        )
    return match.group("base")


def full_name(base: str) -> str:
    """`OWNER/REPO` of a repository API base URL."""
    owner, repo = base.rstrip("/").split("/")[-2:]
    return f"{owner}/{repo}"


class GiteaApi:
    """The four endpoints previews use, under one repository's API base URL."""

    def __init__(self, base: str, token: str, timeout: float = TIMEOUT) -> None:
        check_token_url(base, "plan previews")
        self.base = base.rstrip("/")
        self._timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = False  # no netrc credentials or proxy from the environment
        self._session.headers.update(
            {"Authorization": f"token {token}", "Accept": "application/json"}
        )

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = self.base + path
        try:
            answer = self._session.request(
                method, url, json=body, timeout=self._timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise GiteaError(
                f"{method} {path}: {type(exc).__name__}: {mask_text(str(exc))[:200]}"
            ) from None
        if answer.status_code >= 300:
            text = mask_text(answer.text[:200])
            raise GiteaError(
                f"{method} {path}: HTTP {answer.status_code} {text}", answer.status_code
            )
        return answer.json() if answer.content else None

    def comments(self, number: int) -> list[dict[str, Any]]:
        """GET /repos/{owner}/{repo}/issues/{index}/comments: every comment of the PR."""
        found = self._call("GET", f"/issues/{number}/comments")
        return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []

    def create_comment(self, number: int, body: str) -> int:
        """POST /repos/{owner}/{repo}/issues/{index}/comments; the new comment's id."""
        made = self._call("POST", f"/issues/{number}/comments", {"body": body})
        if not isinstance(made, dict) or not isinstance(made.get("id"), int):
            raise GiteaError(f"POST /issues/{number}/comments: no comment id in the answer")
        return int(made["id"])

    def edit_comment(self, comment_id: int, body: str) -> None:
        """PATCH /repos/{owner}/{repo}/issues/comments/{id}."""
        self._call("PATCH", f"/issues/comments/{comment_id}", {"body": body})

    def status(self, sha: str, state: str, context: str, description: str) -> None:
        """POST /repos/{owner}/{repo}/statuses/{sha}."""
        body = {"state": state, "context": context, "description": description}
        self._call("POST", f"/statuses/{sha}", body)

    def close(self) -> None:
        self._session.close()


__all__ = ["GiteaApi", "GiteaError", "full_name", "repo_api_base"]
