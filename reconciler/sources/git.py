"""The only module that runs git (GitPython): fetch a branch, export one commit's spec tree.

Secrets never reach the URL, the repository config or a log line: an https token
travels in the git subprocess environment (http.extraHeader via GIT_CONFIG_*), an
ssh key through GIT_SSH_COMMAND with a pinned known_hosts file.
"""

from __future__ import annotations

import base64
import os
import shlex
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

import git

from reconciler.settings import GitSourceSettings
from reconciler.sources.tree import MAX_FILE_BYTES, MAX_TREE_BYTES, MAX_TREE_FILES

_SYMLINK_MODE = 0o120000
_SCHEMES = ("https", "http", "ssh", "git", "file")
FETCH_TIMEOUT = 300.0  # seconds; a stalled remote must not hang the daemon's cycle


class GitSourceError(RuntimeError):
    """Fetching or reading the spec repository failed (network, auth, missing path)."""


class GitTreeError(GitSourceError):
    """One commit's tree holds no usable specs folder: the commit is wrong, not the network."""


def redact_url(url: str) -> str:
    """The URL without any password, for logs and status."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else "***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def _scheme(url: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    if not scheme and ":" in url and not url.startswith("/"):
        return "ssh"  # scp-like git@host:owner/repo.git
    return scheme or "file"


def auth_environment(cfg: GitSourceSettings, env: Mapping[str, str]) -> dict[str, str]:
    """Environment for the git subprocess: credentials by reference, never prompting."""
    out = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false", "SSH_ASKPASS": "/bin/false"}
    scheme = _scheme(cfg.url)
    if scheme not in _SCHEMES:
        raise GitSourceError(f"unsupported git URL scheme {scheme!r} in {redact_url(cfg.url)}")
    if urlsplit(cfg.url).password is not None:
        raise GitSourceError("credentials in source.git.url are refused; use token_env")
    if scheme in ("https", "http") and cfg.token_env:
        token = env.get(cfg.token_env, "")
        if not token:
            raise GitSourceError(f"environment variable {cfg.token_env} (token_env) is empty")
        # Gitea takes an access token as the basic-auth password, any user name.
        basic = base64.b64encode(f"reconciler:{token}".encode()).decode("ascii")
        out.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
        )
    if scheme == "ssh":
        if not cfg.known_hosts_file:
            raise GitSourceError("ssh sources need known_hosts_file (unknown hosts are refused)")
        command = [
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={cfg.known_hosts_file}",
        ]
        if cfg.ssh_key_file:
            command += ["-o", "IdentitiesOnly=yes", "-i", cfg.ssh_key_file]
        out["GIT_SSH_COMMAND"] = shlex.join(command)  # git runs it through sh
    return out


class GitSource:
    """A bare cache repository under `cache_dir` tracking one branch of `cfg.url`."""

    def __init__(
        self, cfg: GitSourceSettings, cache_dir: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.cfg = cfg
        self.cache_dir = cache_dir
        self._env = dict(env if env is not None else os.environ)
        self._repo: git.Repo | None = None

    @property
    def url(self) -> str:
        return redact_url(self.cfg.url)

    def _open(self) -> git.Repo:
        if self._repo is None:
            if (self.cache_dir / "HEAD").exists():
                self._repo = git.Repo(self.cache_dir)
            else:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                self._repo = git.Repo.init(self.cache_dir, bare=True)
            with self._repo.config_writer() as config:
                config.set_value('remote "origin"', "url", self.cfg.url)
        return self._repo

    def fetch(self) -> str:
        """Fetch the tracked branch; the SHA of its tip."""
        repo = self._open()
        ref = f"refs/remotes/origin/{self.cfg.branch}"
        try:
            repo.git.fetch(
                "--prune",
                "--no-tags",
                "origin",
                f"+refs/heads/{self.cfg.branch}:{ref}",
                env=auth_environment(self.cfg, self._env),
                kill_after_timeout=FETCH_TIMEOUT,
            )
            return str(repo.commit(ref).hexsha)
        except (git.GitCommandError, git.BadName, ValueError) as exc:
            raise GitSourceError(f"fetch {self.url} {self.cfg.branch}: {_short(exc)}") from None

    def fetch_all(self) -> None:
        """Fetch every branch and tag (for previewing any commit of the source)."""
        repo = self._open()
        try:
            repo.git.fetch(
                "--no-tags",
                "origin",
                "+refs/heads/*:refs/remotes/origin/*",
                "+refs/tags/*:refs/tags/*",
                env=auth_environment(self.cfg, self._env),
                kill_after_timeout=FETCH_TIMEOUT,
            )
        except git.GitCommandError as exc:
            raise GitSourceError(f"fetch {self.url}: {_short(exc)}") from None

    def fetch_ref(self, remote_ref: str, local_ref: str) -> None:
        """Fetch one remote ref (e.g. Gitea's `refs/pull/7/head`) into `local_ref`."""
        repo = self._open()
        try:
            repo.git.fetch(
                "--no-tags",
                "origin",
                f"+{remote_ref}:{local_ref}",
                env=auth_environment(self.cfg, self._env),
                kill_after_timeout=FETCH_TIMEOUT,
            )
        except git.GitCommandError as exc:
            raise GitSourceError(f"fetch {self.url} {remote_ref}: {_short(exc)}") from None

    def resolve(self, ref: str) -> str | None:
        """The commit SHA a ref names (SHA, tag, origin/BRANCH or BRANCH), or None."""
        repo = self._open()
        for name in (ref, f"refs/remotes/origin/{ref}", f"refs/tags/{ref}"):
            try:
                return str(repo.commit(name).hexsha)
            except (git.BadName, git.GitCommandError, ValueError):
                continue
        return None

    def known(self, revision: str) -> bool:
        try:
            self._open().commit(revision)
        except (git.BadName, ValueError):
            return False
        return True

    def export(self, revision: str, parent: Path) -> Path:
        """Write the blobs under `cfg.path` of `revision`'s tree into a fresh dir in `parent`.

        Reads the commit tree, never a working checkout, so a push in progress can
        never be seen half-written.
        """
        repo = self._open()
        try:
            commit = repo.commit(revision)
        except (git.BadName, ValueError):
            raise GitSourceError(f"unknown revision {revision}") from None
        folder = self.cfg.path.strip("/")
        tree = commit.tree
        if folder and folder != ".":
            try:
                tree = tree / folder
            except KeyError:
                raise GitTreeError(f"{folder}/ not found at {revision[:12]}") from None
            if tree.type != "tree":
                raise GitTreeError(f"{folder} is not a folder at {revision[:12]}")
        parent.mkdir(parents=True, exist_ok=True)
        dest = Path(tempfile.mkdtemp(prefix=f"{revision[:12]}-", dir=parent))
        base = PurePosixPath(tree.path) if tree.path else PurePosixPath()
        total = count = 0
        try:
            for item in tree.traverse():
                if not isinstance(item, git.Blob):
                    continue  # submodules
                rel = PurePosixPath(item.path).relative_to(base)
                if ".." in rel.parts or rel.is_absolute():
                    raise GitTreeError(f"unsafe path {item.path} at {revision[:12]}")
                if item.mode == _SYMLINK_MODE:
                    _check_link(item, rel, revision)
                    continue  # a link inside the tree is not exported: nothing reads it
                total, count = total + item.size, count + 1
                _check_size(item, total, count, revision)
                target = dest.joinpath(*rel.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(item.data_stream.read())
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)  # never leave half an export behind
            raise
        return dest

    def last_commit(self, revision: str, spec_file: str) -> str | None:
        """The last commit up to `revision` that touched `spec_file` (relative to cfg.path)."""
        path = PurePosixPath(self.cfg.path.strip("/") or ".") / spec_file
        try:
            commit = next(self._open().iter_commits(revision, paths=str(path), max_count=1), None)
        except (git.GitCommandError, git.BadName, ValueError):
            return None
        return str(commit.hexsha) if commit is not None else None

    def describe(self, revision: str) -> dict[str, str]:
        """Author, date and subject of a commit, for status and reports."""
        commit = self._open().commit(revision)
        message = commit.message if isinstance(commit.message, str) else commit.message.decode()
        return {
            "revision": str(commit.hexsha),
            "author": str(commit.author.name),
            "date": commit.committed_datetime.isoformat(),
            "subject": message.splitlines()[0] if message else "",
        }


def _short(exc: Exception) -> str:
    if isinstance(exc, git.GitCommandError):
        text = str(exc.stderr or exc).strip()
        return " ".join(line.strip() for line in text.splitlines() if line.strip())[:500]
    return str(exc)[:500]


def _check_link(item: git.Blob, rel: PurePosixPath, revision: str) -> None:
    """A symlink blob whose target leaves the exported tree is refused, as in a spec dir."""
    target = item.data_stream.read(4097).decode("utf-8", "replace")
    parts: list[str] = []
    for part in (*rel.parent.parts, *PurePosixPath(target).parts):
        if part == "..":
            if not parts:
                parts = ["..", "escape"]
                break
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    if target.startswith("/") or parts[:1] == [".."]:
        where = f"{item.path}:1: symlink leaves the specs tree (-> {target})"
        raise GitTreeError(f"{where} at {revision[:12]}; refused")


def _check_size(item: git.Blob, total: int, count: int, revision: str) -> None:
    """The caps of a spec dir: per file, and for the files exported so far."""
    at = f"at {revision[:12]}; refused"
    if item.size > MAX_FILE_BYTES:
        raise GitTreeError(f"{item.path}:1: file is larger than {MAX_FILE_BYTES // 1024} KiB {at}")
    if total > MAX_TREE_BYTES or count > MAX_TREE_FILES:
        limit = f"{MAX_TREE_BYTES >> 20} MiB or {MAX_TREE_FILES} files"
        raise GitTreeError(f"{item.path}:1: the tree holds more than {limit} {at}")
