"""Pull requests on a real git origin (Gitea's refs/pull/N/head included) and their events."""

from __future__ import annotations

import json
from typing import Any

from daemon_gitrepo import Origin, git
from daemon_harness import WEBHOOK_SECRET

from reconciler.daemon.webhook import signature

REPO = "datalake/specs"


class PullRequest:
    """A branch of the origin's clone whose pushes also move `refs/pull/<number>/head`."""

    def __init__(self, origin: Origin, number: int, branch: str, start: str = "main") -> None:
        self.origin, self.number, self.branch = origin, number, branch
        git(origin.clone, "checkout", "-q", "-b", branch, start)

    def push(self, files: dict[str, str | None], message: str) -> str:
        clone = self.origin.clone
        git(clone, "checkout", "-q", self.branch)
        for rel, text in files.items():
            if text is None:
                git(clone, "rm", "-q", rel)
                continue
            path = clone / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            git(clone, "add", rel)
        git(clone, "commit", "-q", "-m", message)
        git(clone, "push", "-q", "-f", "origin", f"HEAD:refs/heads/{self.branch}")
        git(clone, "push", "-q", "-f", "origin", f"HEAD:refs/pull/{self.number}/head")
        return git(clone, "rev-parse", "HEAD")

    def merge(self) -> str:
        """Fast-forward the origin's main to the branch (what a merge button does here)."""
        git(self.origin.clone, "push", "-q", "origin", f"{self.branch}:refs/heads/main")
        return git(self.origin.clone, "rev-parse", self.branch)

    def event(self, action: str, sha: str, merged: bool = False) -> dict[str, Any]:
        """A Gitea `pull_request` payload (the fields Gitea sends that previews read)."""
        return {
            "action": action,
            "number": self.number,
            "pull_request": {
                "id": 9000 + self.number,
                "number": self.number,
                "state": "closed" if action == "closed" else "open",
                "merged": merged,
                "head": {"ref": self.branch, "sha": sha, "repo": {"full_name": REPO}},
                "base": {"ref": "main", "repo": {"full_name": REPO}},
            },
            "repository": {"full_name": REPO},
            "sender": {"login": "alice"},
        }


def signed(doc: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[bytes, str]:
    body = json.dumps(doc).encode()
    return body, signature(secret.encode(), body)


def config_extra(status_url: str) -> dict[str, Any]:
    """write_config arguments turning plan previews on against the stand-in."""
    return {
        "git_extra": f', token_env: GITEA_TOKEN, api_url: "{status_url}"',
        "daemon_extra": ("previews: {enabled: true}",),
    }


def writes(sim: Any) -> list[Any]:
    """Every request to the simulator that could change something."""
    return [r for r in sim.requests() if r.method != "GET"]


__all__ = ["REPO", "PullRequest", "config_extra", "signed", "writes"]
