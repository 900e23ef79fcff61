"""Plan previews in process: a real git origin, the simulator, the recording Gitea stand-in."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from daemon_gitrepo import Origin, free_port
from daemon_harness import container, ct_config, write_config
from gitea_status import StatusServer
from preview_helpers import PullRequest, config_extra, writes

from reconciler.daemon.gitea import GiteaApi, repo_api_base
from reconciler.daemon.preview_comment import CONTEXT, MARKER, Head
from reconciler.daemon.preview_run import Previewer, work_dir
from reconciler.settings import Settings
from reconciler.sources.config import ConfigError, load_settings

TOKEN = "gitea-token-5c1e"


@pytest.fixture(autouse=True)
def _pve_secret(monkeypatch: pytest.MonkeyPatch, pvesim: Any) -> None:
    """build_deps reads the PVE token from the process environment, as in the daemon."""
    monkeypatch.setenv("PVE_TOKEN_SECRET", pvesim.token_secret)


def _previewer(settings: Settings, server: StatusServer, sim: Any) -> Previewer:
    assert settings.git is not None
    api = GiteaApi(repo_api_base(settings.git.url, settings.git.api_url), TOKEN)
    env = {"GITEA_TOKEN": TOKEN, "PVE_TOKEN_SECRET": sim.token_secret}
    return Previewer(settings, env, api)


def _settings(tmp_path: Path, origin: Origin, sim: Any, server: StatusServer) -> Settings:
    config = write_config(
        tmp_path,
        origin.url,
        sim,
        webhook=f"127.0.0.1:{free_port()}",
        **config_extra(server.url()),
    )
    return load_settings(config)


def test_one_comment_edited_in_place_and_a_status_per_head(
    origin: Origin, pvesim: Any, tmp_path: Path
) -> None:
    origin.commit({"specs/a.yaml": container("a", 231)}, "add a")
    pr = PullRequest(origin, 3, "more-cts")
    first = pr.push({"specs/b.yaml": container("b", 232)}, "add b")
    with StatusServer() as server:
        settings = _settings(tmp_path, origin, pvesim, server)
        previewer = _previewer(settings, server, pvesim)
        before = len(writes(pvesim))
        outcome = previewer.run(Head(3, first, "more-cts"))
        assert (outcome.state, outcome.description) == ("success", "2 to create")
        second = pr.push(
            {"specs/b.yaml": container("b", 232, "2GiB"), "specs/c.yaml": container("c", 233)},
            "b bigger, add c",
        )
        assert previewer.run(Head(3, second, "more-cts")).description == "3 to create"

        # a restarted daemon knows no comment id: it finds its comment by the marker
        again = _previewer(settings, server, pvesim).run(Head(3, second, "more-cts"))
        assert again.state == "success"

    assert writes(pvesim)[before:] == []  # planned, never applied
    assert ct_config(pvesim, 232) is None
    calls = [(p.method, p.path.split("/api/v1/repos/datalake/specs")[1]) for p in server.requests()]
    assert calls == [
        ("POST", f"/statuses/{first}"),
        ("GET", "/issues/3/comments"),
        ("POST", "/issues/3/comments"),
        ("POST", f"/statuses/{first}"),
        ("POST", f"/statuses/{second}"),
        ("PATCH", "/issues/comments/1000"),
        ("POST", f"/statuses/{second}"),
        ("POST", f"/statuses/{second}"),
        ("GET", "/issues/3/comments"),
        ("PATCH", "/issues/comments/1000"),
        ("POST", f"/statuses/{second}"),
    ]
    states = [(p.sha[:7], p.body["state"], p.body["description"]) for p in server.statuses()]
    assert states[:2] == [
        (first[:7], "pending", "planning, nothing is applied"),
        (first[:7], "success", "2 to create"),
    ]
    assert {p.body["context"] for p in server.statuses()} == {CONTEXT}
    for request in server.requests():
        assert request.headers["Authorization"] == f"token {TOKEN}"
        assert TOKEN.encode() not in request.raw and TOKEN not in request.path
    (comment,) = server.comments.values()
    body = comment["body"]
    assert body.startswith(MARKER + "\n# Plan")
    assert f"Commit `{second[:12]}` of pull request #3 (`more-cts`)" in body
    assert "**Plan: 3 to create" in body and "`container/c`" in body
    assert "Nothing is applied until the pull request is merged." in body
    assert not any(work_dir(settings).joinpath("work").iterdir())  # exports removed


def test_invalid_specs_list_every_problem_and_fail_the_status(
    origin: Origin, pvesim: Any, tmp_path: Path
) -> None:
    origin.commit({"specs/a.yaml": container("a", 234)}, "add a")
    pr = PullRequest(origin, 4, "typos")
    head = pr.push(
        {
            "specs/b.yaml": container("b", 235).replace("cores: 1", "corez: 1"),
            "specs/c.yaml": container("c", 236).replace("memory: 1GiB", "memory: lots"),
        },
        "two typos",
    )
    with StatusServer() as server:
        settings = _settings(tmp_path, origin, pvesim, server)
        outcome = _previewer(settings, server, pvesim).run(Head(4, head, "typos"))
    assert outcome.state == "failure"
    assert outcome.description.startswith("specs invalid, 2 problem(s): specs/b.yaml:")
    (comment,) = server.comments.values()
    body = comment["body"]
    assert "**The specs are invalid** (2 problem(s))" in body
    lines = [ln for ln in body.splitlines() if ln.startswith("specs/")]
    assert [ln.split(":")[0] for ln in lines] == ["specs/b.yaml", "specs/c.yaml"]
    assert all(ln.split(":")[1].isdigit() for ln in lines)  # file:line: path: message
    assert "corez" in lines[0] and "lots" in lines[1]
    assert str(tmp_path) not in body  # repository paths, never the private export
    assert [p.body["state"] for p in server.statuses()] == ["pending", "failure"]


def test_an_unreachable_proxmox_gives_status_error_and_says_why(
    origin: Origin, pvesim: Any, tmp_path: Path
) -> None:
    origin.commit({"specs/a.yaml": container("a", 237)}, "add a")
    head = PullRequest(origin, 5, "down").push({"specs/b.yaml": container("b", 238)}, "add b")
    with StatusServer() as server:
        settings = _settings(tmp_path, origin, pvesim, server)
        down = replace(settings, proxmox=replace(settings.proxmox, port=free_port()))
        outcome = _previewer(down, server, pvesim).run(Head(5, head, "down"))
        previewer = _previewer(settings, server, pvesim)
        gone = previewer.run(Head(5, "f" * 40, "down"))
        server.comments.clear()  # someone deleted our comment: the next preview makes a new one
        assert previewer.run(Head(5, head, "down")).state == "success"
    assert outcome.state == "error"
    assert outcome.description.startswith("plan incomplete (2 unknown (could not be read)):")
    assert "proxmox" in outcome.description
    assert "**The plan is incomplete:** observe failed: proxmox:" in outcome.comment
    assert gone.state == "error" and "is not on refs/pull/5/head" in gone.description
    assert "**No plan could be made:**" in gone.comment
    assert [p.body["state"] for p in server.statuses()] == [
        *("pending", "error") * 2,
        *("pending", "success"),
    ]
    calls = [(p.method, p.path.rsplit("/", 2)[-2:]) for p in server.comment_requests()]
    assert calls == [
        ("GET", ["5", "comments"]),
        ("POST", ["5", "comments"]),
        ("GET", ["5", "comments"]),  # a new previewer (restart) looks for it
        ("PATCH", ["comments", "1000"]),
        ("PATCH", ["comments", "1000"]),  # 404: gone
        ("POST", ["5", "comments"]),
    ]
    assert list(server.comments) == [1001]  # the new one


def test_previews_need_the_webhook_and_a_token(tmp_path: Path, pvesim: Any) -> None:
    config = write_config(
        tmp_path, "https://gitea.example/datalake/specs.git", pvesim,
        daemon_extra=("previews: {enabled: true}",),
    )  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    line = config.read_text().splitlines().index("  previews: {enabled: true}") + 1
    assert str(caught.value).splitlines() == [
        f"{config}:{line}: daemon.previews.enabled: needs daemon.webhook "
        "(pull_request events come through it)",
        f"{config}:{line}: daemon.previews.enabled: needs source.git.token_env "
        "(a Gitea token to comment with)",
    ]
