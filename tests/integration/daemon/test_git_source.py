"""The git source against real repositories over file:// and git:// (git daemon)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from daemon_gitrepo import Origin, git

from reconciler.settings import GitSourceSettings
from reconciler.sources.git import (
    GitSource,
    GitSourceError,
    GitTreeError,
    auth_environment,
    redact_url,
)

SPEC = "apiVersion: reconciler/v1\nkind: Container\nmetadata: {name: %s}\n"


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()}


def test_fetch_and_export_exact_commit_tree_over_file_url(origin: Origin, tmp_path: Path) -> None:
    first = origin.commit({"specs/containers/a.yaml": SPEC % "a", "README.md": "not a spec"})
    second = origin.commit({"specs/containers/b.yaml": SPEC % "b"})
    source = GitSource(GitSourceSettings(url=origin.url, path="specs"), tmp_path / "cache.git")

    assert source.fetch() == second
    old = source.export(first, tmp_path / "work")
    new = source.export(second, tmp_path / "work")

    assert _tree(old) == {"containers/a.yaml": SPEC % "a"}
    assert _tree(new) == {"containers/a.yaml": SPEC % "a", "containers/b.yaml": SPEC % "b"}
    assert old != new and old.parent == new.parent  # each export is a fresh directory


def test_fetch_tracks_branch_over_git_daemon(
    origin: Origin, git_daemon: str, tmp_path: Path
) -> None:
    origin.commit({"specs/x.yaml": SPEC % "x"})
    source = GitSource(GitSourceSettings(url=git_daemon, path="specs"), tmp_path / "cache.git")
    source.fetch()
    third = origin.commit({"specs/x.yaml": SPEC % "x2"}, "edit x")

    assert source.fetch() == third
    assert _tree(source.export(third, tmp_path / "w")) == {"x.yaml": SPEC % "x2"}


def test_last_commit_that_touched_a_spec_file(origin: Origin, tmp_path: Path) -> None:
    a1 = origin.commit({"specs/a.yaml": SPEC % "a"})
    b1 = origin.commit({"specs/b.yaml": SPEC % "b"})
    head = origin.commit({"other.txt": "x"})
    source = GitSource(GitSourceSettings(url=origin.url, path="specs"), tmp_path / "cache.git")
    source.fetch()

    assert source.last_commit(head, "a.yaml") == a1
    assert source.last_commit(head, "b.yaml") == b1
    assert source.last_commit(head, "missing.yaml") is None
    assert source.describe(b1)["revision"] == b1


def test_missing_path_and_unreachable_remote_are_errors(origin: Origin, tmp_path: Path) -> None:
    sha = origin.commit({"elsewhere/a.yaml": SPEC % "a"})
    source = GitSource(GitSourceSettings(url=origin.url, path="specs"), tmp_path / "c.git")
    source.fetch()
    with pytest.raises(GitSourceError, match="specs/ not found"):
        source.export(sha, tmp_path / "w")
    gone = GitSource(GitSourceSettings(url=(tmp_path / "nope.git").as_uri()), tmp_path / "d.git")
    with pytest.raises(GitSourceError, match="fetch"):
        gone.fetch()


def test_symlinks_in_the_tree_are_not_exported(origin: Origin, tmp_path: Path) -> None:
    (origin.clone / "specs").mkdir()
    (origin.clone / "specs" / "link.yaml").symlink_to("real.yaml")
    git(origin.clone, "add", "specs/link.yaml")
    sha = origin.commit({"specs/real.yaml": SPEC % "r"})
    source = GitSource(GitSourceSettings(url=origin.url, path="specs"), tmp_path / "c.git")
    source.fetch()
    assert _tree(source.export(sha, tmp_path / "w")) == {"real.yaml": SPEC % "r"}


def test_a_symlink_out_of_the_tree_or_an_oversize_blob_rejects_the_commit(
    origin: Origin, tmp_path: Path
) -> None:
    """Issue 14: as in a spec dir, such a commit is refused whole, naming the path."""
    (origin.clone / "specs").mkdir()
    (origin.clone / "specs" / "zero.yaml").symlink_to("/dev/zero")
    git(origin.clone, "add", "specs/zero.yaml")
    linked = origin.commit({"specs/real.yaml": SPEC % "r"})
    source = GitSource(GitSourceSettings(url=origin.url, path="specs"), tmp_path / "c.git")
    source.fetch()
    with pytest.raises(GitTreeError, match=r"specs/zero.yaml:1: symlink leaves the specs tree"):
        source.export(linked, tmp_path / "w")
    git(origin.clone, "rm", "-q", "specs/zero.yaml")
    big = origin.commit({"specs/big.yaml": "#" * (1024 * 1024 + 1)})
    source.fetch()
    with pytest.raises(GitTreeError, match=r"specs/big.yaml:1: file is larger than 1024 KiB"):
        source.export(big, tmp_path / "w")
    assert not any((tmp_path / "w").iterdir())


def test_https_token_travels_in_env_never_in_url_or_config(origin: Origin, tmp_path: Path) -> None:
    cfg = GitSourceSettings(
        url="https://gitea.example.invalid/datalake/specs.git", token_env="GITEA_TOKEN"
    )
    env = auth_environment(cfg, {"GITEA_TOKEN": "s3cr3t-token"})
    header = env["GIT_CONFIG_VALUE_0"]
    assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    assert base64.b64decode(header.split()[-1]).decode() == "reconciler:s3cr3t-token"
    assert env["GIT_TERMINAL_PROMPT"] == "0"

    source = GitSource(cfg, tmp_path / "c.git", {"GITEA_TOKEN": "s3cr3t-token"})
    with pytest.raises(GitSourceError) as failed:
        source.fetch()  # no such host: fails, and the error must not leak the token
    assert "s3cr3t" not in str(failed.value)
    config = (tmp_path / "c.git" / "config").read_text()
    assert "s3cr3t" not in config and cfg.url in config


def test_missing_token_and_password_in_url_are_refused() -> None:
    cfg = GitSourceSettings(url="https://gitea.example.invalid/a/b.git", token_env="GITEA_TOKEN")
    with pytest.raises(GitSourceError, match="GITEA_TOKEN"):
        auth_environment(cfg, {})
    with pytest.raises(GitSourceError, match="refused"):
        auth_environment(GitSourceSettings(url="https://u:pw@h.invalid/a.git"), {})
    assert redact_url("https://u:pw@h.invalid:3000/a.git") == "https://u:***@h.invalid:3000/a.git"


def test_ssh_pins_known_hosts_and_key() -> None:
    cfg = GitSourceSettings(
        url="ssh://git@gitea.example.invalid:2222/datalake/specs.git",
        ssh_key_file="/etc/reconciler/id ed25519",
        known_hosts_file="/etc/reconciler/known_hosts",
    )
    command = auth_environment(cfg, {})["GIT_SSH_COMMAND"]
    assert "-o StrictHostKeyChecking=yes" in command
    assert "-o UserKnownHostsFile=/etc/reconciler/known_hosts" in command
    assert "-o IdentitiesOnly=yes -i '/etc/reconciler/id ed25519'" in command
    with pytest.raises(GitSourceError, match="known_hosts_file"):
        auth_environment(GitSourceSettings(url="git@gitea.example.invalid:a/b.git"), {})
