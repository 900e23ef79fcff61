"""Real git repositories for the daemon tests: a bare origin, a working clone, pushes."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


class Origin:
    """A bare repository plus a clone the test commits and pushes from."""

    def __init__(self, root: Path, branch: str = "main") -> None:
        self.bare = root / "origin" / "specs.git"
        self.clone = root / "clone"
        self.branch = branch
        self.bare.mkdir(parents=True)
        git(self.bare, "init", "--bare", "-q", "-b", branch)
        self.clone.mkdir()
        git(self.clone, "init", "-q", "-b", branch)
        git(self.clone, "remote", "add", "origin", str(self.bare))

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        """Write (or delete, with None) files in the clone, commit, push; the new SHA."""
        for rel, text in files.items():
            path = self.clone / rel
            if text is None:
                git(self.clone, "rm", "-q", rel)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            git(self.clone, "add", rel)
        git(self.clone, "commit", "-q", "--allow-empty", "-m", message)
        git(self.clone, "push", "-q", "origin", f"HEAD:refs/heads/{self.branch}")
        return git(self.clone, "rev-parse", "HEAD")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")
