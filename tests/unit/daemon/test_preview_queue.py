"""Plan previews: event parsing, routing, the latest-per-PR queue, the summary and comment texts."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import Any

import pytest

from reconciler.daemon.preview_comment import MARKER, Head, invalid_comment, plan_summary
from reconciler.daemon.previews import PreviewQueue, Previews, parse_event
from reconciler.plan.change import Action, Change, Plan

SHA = "a" * 40


def _event(action: str = "opened", **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "action": action,
        "number": 5,
        "pull_request": {
            "number": 5,
            "merged": False,
            "head": {"ref": "feature/x", "sha": SHA},
            "base": {"ref": "main"},
        },
        "repository": {"full_name": "Datalake/Specs"},
    }
    for path, value in changes.items():
        node = doc
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    return doc


def test_parse_event_reads_gitea_fields_and_names_a_bad_one() -> None:
    event = parse_event(_event("synchronized"))
    assert (event.action, event.number, event.head_sha, event.head_ref, event.base_ref) == (
        "synchronized",
        5,
        SHA,
        "feature/x",
        "main",
    )
    with pytest.raises(ValueError, match=r"^pull_request\.head\.sha: 'HEAD' is not a valid"):
        parse_event(_event(**{"pull_request.head.sha": "HEAD"}))
    with pytest.raises(ValueError, match=r"^pull_request\.head\.ref: '-x'"):
        parse_event(_event(**{"pull_request.head.ref": "-x"}))
    with pytest.raises(ValueError, match=r"^pull_request\.head\.ref: 'a\.\.b'"):
        parse_event(_event(**{"pull_request.head.ref": "a..b"}))
    with pytest.raises(ValueError, match=r"^pull_request\.number"):
        parse_event(_event(number=True, **{"pull_request.number": "5"}))


class _Recorder:
    """A run callable that records heads and can be held to keep the worker busy."""

    def __init__(self) -> None:
        self.heads: list[Head] = []
        self.hold = threading.Event()
        self.hold.set()
        self.started = threading.Event()
        self.done = threading.Semaphore(0)

    def __call__(self, head: Head) -> None:
        self.started.set()
        self.hold.wait(10)
        self.heads.append(head)
        self.done.release()


def _answer(response: Any) -> tuple[int, dict[str, str]]:
    return response.status, json.loads(response.body)


def test_routing_queues_previewable_actions_of_our_repository_and_base_only() -> None:
    run = _Recorder()
    previews = Previews("datalake/specs", "main", run)
    try:
        assert _answer(previews.handle(_event(), "d1")) == (
            202,
            {"status": "queued", "number": "5", "action": "opened"},
        )
        assert run.done.acquire(timeout=10)
        assert _answer(previews.handle(_event(**{"repository.full_name": "x/y"}), "d2"))[1] == {
            "status": "ignored",
            "reason": "repository x/y",
        }
        assert _answer(previews.handle(_event(**{"pull_request.base.ref": "dev"}), "d3"))[1][
            "reason"
        ] == ("base branch dev")
        assert _answer(previews.handle(_event("closed"), "d4"))[1]["reason"] == "closed"
        assert _answer(previews.handle(_event("edited"), "d5"))[1]["reason"] == "action edited"
        code, doc = _answer(previews.handle(_event(**{"pull_request.head.sha": "x"}), "d6"))
        assert code == 400 and doc["error"].startswith("pull_request event: pull_request.head.sha")
    finally:
        previews.close()
    assert run.heads == [Head(5, SHA, "feature/x")]


def test_the_queue_keeps_the_latest_head_per_pull_request_in_arrival_order() -> None:
    run = _Recorder()
    run.hold.clear()
    unplanned: list[str] = []
    queue = PreviewQueue(run, limit=2, unplanned=unplanned.append)
    try:
        queue.offer(Head(1, "1" * 40, "a"))
        assert run.started.wait(10)  # the worker is busy with PR 1
        assert queue.offer(Head(2, "2" * 40, "b"))
        assert queue.offer(Head(3, "3" * 40, "c"))
        assert not queue.offer(Head(4, "4" * 40, "d"))  # full: refused, never unbounded
        assert queue.offer(Head(2, "5" * 40, "b"))  # a newer push replaces the older head
        assert queue.offer(Head(2, "5" * 40, "b"))  # the same head redelivered: still one
        queue.drop(3)  # closed before its turn
        queue.drop(3)  # closed again: nothing was waiting
        assert unplanned == ["superseded", "dropped"]
        run.hold.set()
        for _ in range(2):
            assert run.done.acquire(timeout=10)
    finally:
        queue.close()
    assert [(h.number, h.sha[0]) for h in run.heads] == [(1, "1"), (2, "5")]


def test_previews_are_counted_by_result_and_timed() -> None:
    from reconciler.daemon.metrics import Metrics
    from reconciler.daemon.preview_run import Outcome
    from reconciler.daemon.previews import measured

    metrics = Metrics()
    ticks = iter([10.0, 12.5, 20.0, 20.25, 30.0, 31.0, 40.0, 40.5])
    states = iter(["success", "failure", "error"])

    def run(head: Head) -> Outcome:
        state = next(states, None)
        if state is None:
            raise RuntimeError("a bug in one preview")
        return Outcome(state, "d", "c")

    preview = measured(run, metrics, clock=lambda: next(ticks))
    assert [preview(Head(1, SHA, "f")).result for _ in range(3)] == [
        "planned",
        "invalid",
        "failed",
    ]
    with pytest.raises(RuntimeError):
        preview(Head(1, SHA, "f"))
    metrics.preview("superseded")
    lines = metrics.render().splitlines()
    assert [ln for ln in lines if ln.startswith("reconciler_preview")] == [
        'reconciler_previews_total{result="dropped"} 0.0',
        'reconciler_previews_total{result="failed"} 2.0',
        'reconciler_previews_total{result="invalid"} 1.0',
        'reconciler_previews_total{result="planned"} 1.0',
        'reconciler_previews_total{result="superseded"} 1.0',
        "reconciler_preview_duration_seconds_count 4.0",
        "reconciler_preview_duration_seconds_sum 4.25",
    ]


def test_summary_leaves_out_zero_counts() -> None:
    plan = Plan(
        changes=(
            *(Change(f"container/c{i}", Action.CREATE, "new") for i in range(3)),
            Change("container/u", Action.UPDATE, "drift"),
            Change("container/r", Action.REFUSE, "shrink"),
        )
    )
    assert plan_summary(plan) == "3 to create, 1 to update, 1 refused"
    assert plan_summary(Plan()) == "no changes"


def test_an_invalid_comment_fences_every_problem_unbroken() -> None:
    problems = ["specs/a.yaml:3: spec.x: ```bad```", "specs/b.yaml:9: spec.y: unknown key"]
    body = invalid_comment(Head(2, SHA, "f"), problems)
    assert body.startswith(MARKER + "\n# Plan")
    assert "\n````text\n" + "\n".join(problems) + "\n````\n" in body


def test_make_previews_refuses_what_it_cannot_use(tmp_path: Any) -> None:
    from reconciler.daemon.previews import make_previews
    from reconciler.settings import DaemonSettings, GitSourceSettings, Settings

    def settings(url: str, api_url: str | None = None) -> Settings:
        git = GitSourceSettings(url=url, token_env="GITEA_TOKEN", api_url=api_url)
        daemon = DaemonSettings(previews=True)
        return Settings(None, tmp_path / "specs", tmp_path / "state", git=git, daemon=daemon)

    env = {"GITEA_TOKEN": "tok-1234"}
    with pytest.raises(ValueError, match=r"daemon\.previews needs source\.git\.token_env"):
        make_previews(settings("https://gitea.example/a/b.git"), {})
    with pytest.raises(ValueError, match=r"daemon.previews needs an https://HOST/OWNER/REPO\.git"):
        make_previews(settings("ssh://git@gitea.example:2222/a/b.git"), env)
    with pytest.raises(ValueError, match=r"plan previews send the token over https only"):
        make_previews(settings("http://gitea.example/a/b.git"), env)
    assert make_previews(replace(settings("x"), daemon=DaemonSettings()), env) is None
    previews = make_previews(
        settings(
            "ssh://git@gitea.example:2222/a/b.git", "https://g.example/api/v1/repos/a/b/statuses"
        ),
        env,
    )
    assert previews is not None
    previews.close()
