"""Gitea commit statuses: URL derivation, descriptions, and a daemon posting to a real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from daemon_gitrepo import Origin
from daemon_harness import DaemonProcess, container, write_config
from gitea_status import StatusServer

from reconciler.daemon.commit_status import (
    CONTEXT,
    CommitStatuses,
    describe,
    make_statuses,
    status_url_template,
)
from reconciler.settings import GitSourceSettings

TOKEN = "gitea-token-7f3a"


@pytest.mark.parametrize(
    ("clone", "expected"),
    [
        (
            "https://gitea.gti.local/datalake/specs.git",
            "https://gitea.gti.local/api/v1/repos/datalake/specs/statuses/{sha}",
        ),
        (
            "https://gitea.gti.local:3000/datalake/specs",
            "https://gitea.gti.local:3000/api/v1/repos/datalake/specs/statuses/{sha}",
        ),
        (
            "https://bot@example.org/git/team/lake.git",
            "https://example.org/git/api/v1/repos/team/lake/statuses/{sha}",
        ),
    ],
)
def test_status_url_is_derived_from_an_https_clone_url(clone: str, expected: str) -> None:
    assert status_url_template(clone) == expected


def test_explicit_api_url_wins_and_other_schemes_need_one() -> None:
    api = "https://gitea.example/api/v1/repos/a/b/statuses"
    assert status_url_template("ssh://git@gitea:2222/a/b.git", api) == api + "/{sha}"
    assert status_url_template("git@gitea:a/b.git", api + "/{sha}") == api + "/{sha}"
    with pytest.raises(ValueError, match="api_url"):
        status_url_template("ssh://git@gitea:2222/a/b.git")


def test_token_is_required_and_only_sent_over_https_or_loopback() -> None:
    cfg = GitSourceSettings(
        url="https://gitea.example/a/b.git", commit_status=True, token_env="GITEA_TOKEN"
    )
    with pytest.raises(ValueError, match="token_env"):
        make_statuses(cfg, {})
    with pytest.raises(ValueError, match="https"):
        CommitStatuses("http://gitea.example/api/v1/repos/a/b/statuses/{sha}", TOKEN)
    assert make_statuses(GitSourceSettings(url="file:///x"), {}) is None
    poster = make_statuses(cfg, {"GITEA_TOKEN": TOKEN})
    assert poster is not None
    poster.close()


def test_descriptions_carry_the_plan_summary_or_the_first_error() -> None:
    assert describe("success", {"create": 2, "update": 1}, None) == "applied: 2 create, 1 update"
    assert describe("success", {}, None) == "in sync, no changes"
    rejected = describe("rejected", None, "invalid specs:\nspecs/b.yaml:6: corez: unknown key")
    assert rejected == "specs rejected: invalid specs: specs/b.yaml:6: corez: unknown key"
    assert len(describe("failed", None, "x" * 1000)) == 255


def _statuses(server: StatusServer, sha: str) -> list[str]:
    return [p.body["state"] for p in server.requests() if p.sha == sha]


def test_daemon_posts_pending_then_result_per_commit_without_waiting_for_gitea(
    origin: Origin, pvesim: Any, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    good = origin.commit({"specs/a.yaml": container("a", 251)}, "add a")
    with StatusServer() as server:
        server.gate.clear()  # Gitea hangs: the cycle must not wait for it
        config = write_config(
            tmp_path,
            origin.url,
            pvesim,
            poll="1s",
            git_extra=f', token_env: GITEA_TOKEN, commit_status: true, api_url: "{server.url()}"',
        )
        daemon = DaemonProcess(config, pvesim, {"GITEA_TOKEN": TOKEN}).start()
        daemons.append(daemon)
        daemon.until(
            "first cycle",
            lambda: (
                daemon.status()["revision"] == good and daemon.status()["last_result"] == "success"
            ),
        )
        assert len(server.requests()) <= 1  # the pending post is still held by "Gitea"
        server.gate.set()
        daemon.until(
            "statuses for the good commit",
            lambda: _statuses(server, good) == ["pending", "success"],
        )

        bad = origin.commit(
            {"specs/b.yaml": container("b", 252).replace("cores: 1", "corez: 1")}, "broken b"
        )
        daemon.until(
            "statuses for the rejected commit",
            lambda: _statuses(server, bad) == ["pending", "failure"],
        )
        assert daemon.status()["revision"] == good  # the good commit stays in force
        assert daemon.stop() == 0

    posted = server.requests()
    assert [p.body["state"] for p in posted] == ["pending", "success", "pending", "failure"]
    assert {p.path for p in posted} == {
        f"/api/v1/repos/datalake/specs/statuses/{sha}" for sha in (good, bad)
    }
    for post in posted:
        assert post.headers["Authorization"] == f"token {TOKEN}"
        assert TOKEN not in post.path and TOKEN.encode() not in post.raw
        assert post.body["context"] == CONTEXT
    assert "applied: 1 create" in posted[1].body["description"]
    assert "b.yaml" in posted[3].body["description"]
    assert posted[3].body["description"].startswith("specs rejected")
    assert TOKEN not in daemon.output()
