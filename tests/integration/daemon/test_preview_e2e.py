"""e2e: the real daemon previews a pull request (opened, pushed twice, merged) against a
recording Gitea stand-in and real git; only the merge push applies."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests
from daemon_gitrepo import Origin, free_port
from daemon_harness import DaemonProcess, container, ct_config, write_config
from gitea_status import StatusServer
from preview_helpers import PullRequest, config_extra, signed, writes

from reconciler.daemon.preview_comment import CONTEXT, MARKER
from reconciler.daemon.webhook import PATH

TOKEN = "gitea-token-e2e-91b4"


def test_a_pull_request_is_previewed_edited_in_place_and_applied_on_merge(
    origin: Origin, pvesim: Any, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    main = origin.commit({"specs/a.yaml": container("a", 241)}, "add a")
    port, metrics_port = free_port(), free_port()
    with StatusServer() as server:
        extra = config_extra(server.url())
        extra["git_extra"] += ", commit_status: true"
        config = write_config(
            tmp_path,
            origin.url,
            pvesim,
            webhook=f"127.0.0.1:{port}",
            metrics=f"127.0.0.1:{metrics_port}",
            **extra,
        )
        daemon = DaemonProcess(config, pvesim, {"GITEA_TOKEN": TOKEN}).start()
        daemons.append(daemon)
        daemon.until(
            "first cycle",
            lambda: (
                daemon.status()["revision"] == main and daemon.status()["last_result"] == "success"
            ),
        )
        url = f"http://127.0.0.1:{port}{PATH}"

        def deliver(
            doc: dict[str, Any], kind: str = "pull_request", secret: str | None = None
        ) -> requests.Response:
            body, sig = signed(doc) if secret is None else signed(doc, secret)
            headers = {
                "X-Gitea-Event": "pull_request",
                "X-Gitea-Event-Type": kind,
                "X-Gitea-Delivery": f"d-{time.monotonic_ns()}",
                "X-Gitea-Signature": sig,
                "Content-Type": "application/json",
            }
            return requests.post(url, data=body, headers=headers, timeout=5)

        def plan_status(sha: str) -> list[str]:
            return [p.body["state"] for p in server.statuses(CONTEXT) if p.sha == sha]

        def previewed(sha: str, state: str = "success") -> Any:
            return daemon.until(
                f"preview of {sha[:7]}", lambda: plan_status(sha) == ["pending", state]
            )

        applied = len(writes(pvesim))
        pr = PullRequest(origin, 7, "grow")
        heads = [pr.push({"specs/b.yaml": container("b", 242)}, "add b")]
        answer = deliver(pr.event("opened", heads[0]))
        assert answer.status_code == 202 and answer.json()["status"] == "queued"
        previewed(heads[0])

        heads.append(pr.push({"specs/c.yaml": container("c", 243)}, "add c"))
        assert deliver(pr.event("synchronized", heads[1]), "pull_request_sync").status_code == 202
        previewed(heads[1])
        heads.append(pr.push({"specs/b.yaml": container("b", 242, "2GiB")}, "b: 2 GiB"))
        assert deliver(pr.event("synchronized", heads[2]), "pull_request_sync").status_code == 202
        previewed(heads[2])

        seen = len(server.requests())
        forged = deliver(pr.event("synchronized", heads[2]), secret="not-the-secret")
        assert forged.status_code == 401  # refused like a forged push: nothing runs
        time.sleep(0.5)
        assert len(server.requests()) == seen
        assert writes(pvesim)[applied:] == [] and ct_config(pvesim, 242) is None
        assert daemon.status()["revision"] == main  # PR heads never become the revision

        # Gitea hangs while the next preview runs: the merge push still applies at once
        server.gate.clear()
        bad = PullRequest(origin, 8, "typos", start="grow")
        typo = bad.push(
            {
                "specs/b.yaml": container("b", 242).replace("cores: 1", "corez: 1"),
                "specs/c.yaml": container("c", 243).replace("memory: 1GiB", "memory: lots"),
            },
            "two typos",
        )
        assert deliver(bad.event("opened", typo)).status_code == 202
        daemon.until(  # the worker is stuck on PR 8: PR 9's heads wait in the queue
            "PR 8's preview started", lambda: typo in {p.sha for p in server.statuses(CONTEXT)}
        )
        later = PullRequest(origin, 9, "later", start="grow")
        waiting = [
            later.push({f"specs/d{i}.yaml": container(f"d{i}", 250 + i)}, "d") for i in (1, 2)
        ]
        assert deliver(later.event("opened", waiting[0])).json()["status"] == "queued"
        assert deliver(later.event("synchronized", waiting[1])).json()["status"] == "queued"
        assert deliver(later.event("closed", waiting[1])).json()["status"] == "ignored"
        merged = pr.merge()
        closed = deliver(pr.event("closed", merged, merged=True))
        assert closed.status_code == 202 and closed.json()["status"] == "ignored"
        daemon.until(
            "the merge applied",
            lambda: (
                daemon.status()["revision"] == merged
                and daemon.status()["last_result"] == "success"
            ),
        )
        assert int((ct_config(pvesim, 242) or {})["memory"]) == 2048
        assert ct_config(pvesim, 243) is not None
        server.gate.set()
        previewed(typo, "failure")
        expected = {"planned": 3.0, "invalid": 1.0, "failed": 0.0, "superseded": 1.0}
        expected["dropped"] = 1.0  # PR 9: its first head replaced, its second dropped on close
        scrape = f"http://127.0.0.1:{metrics_port}/metrics"
        daemon.until("preview metrics", lambda: _previews(scrape)[0] == expected)
        count, total = _previews(scrape)[1]
        assert count == 4.0 and total > 0.0  # one duration per planned head (3 + the typos)
        assert daemon.stop() == 0

    pr7 = [
        p for p in server.comment_requests() if "/issues/7/" in p.path or "/comments/1000" in p.path
    ]
    assert [p.method for p in pr7] == ["GET", "POST", "PATCH", "PATCH"]
    assert {p.path.rsplit("/", 1)[-1] for p in pr7[2:]} == {"1000"}  # the one comment, edited
    descriptions = {p.sha: p.body["description"] for p in server.statuses(CONTEXT)}
    assert [descriptions[h] for h in heads] == ["1 to create", "2 to create", "2 to create"]
    # one pending + result per previewed head; the closed (merged) event added none
    assert [p.sha for p in server.statuses(CONTEXT)] == [h for h in (*heads, typo) for _ in "ab"]
    pushed = [p.body["state"] for p in server.statuses("datalake-reconciler") if p.sha == merged]
    assert pushed == ["pending", "success"]

    comments = {c["number"]: c["body"] for c in server.comments.values()}
    assert sorted(comments) == [7, 8]
    assert comments[7].startswith(MARKER) and f"`{heads[2][:12]}`" in comments[7]
    assert "**Plan: 2 to create" in comments[7]
    problems = [ln for ln in comments[8].splitlines() if ln.startswith("specs/")]
    assert [ln.split(":")[0] for ln in problems] == ["specs/b.yaml", "specs/c.yaml"]
    assert all(ln.split(":")[1].isdigit() for ln in problems)
    assert daemon.status()["rejected_revision"] is None  # a PR never rejects the branch
    for request in server.requests():
        assert request.headers["Authorization"] == f"token {TOKEN}"
        assert TOKEN.encode() not in request.raw
    assert TOKEN not in daemon.output()


def _previews(url: str) -> tuple[dict[str, float], tuple[float, float]]:
    """`reconciler_previews_total` by result, and (count, sum) of the preview durations."""
    results: dict[str, float] = {}
    duration = {"count": -1.0, "sum": -1.0}
    for line in requests.get(url, timeout=5).text.splitlines():
        name, _, value = line.rpartition(" ")
        if name.startswith('reconciler_previews_total{result="'):
            results[name.split('"')[1]] = float(value)
        elif name.startswith("reconciler_preview_duration_seconds_"):
            duration[name.rsplit("_", 1)[1]] = float(value)
    return results, (duration["count"], duration["sum"])
