"""Webhook and metrics over real HTTP on loopback: signatures, replays, size cap, exposition."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import requests

from reconciler.daemon.http import Listener, Request, Response, parse_listen
from reconciler.daemon.metrics import CONTENT_TYPE, Metrics
from reconciler.daemon.webhook import PATH, GiteaWebhook, signature

SECRET = b"hook-secret"
PUSH = json.dumps({"ref": "refs/heads/main", "after": "abc"}).encode()


class Hook:
    def __init__(self) -> None:
        self.fired = threading.Event()
        self.deliveries: list[str] = []
        self.metrics = Metrics()
        self.hook = GiteaWebhook(
            SECRET, self._trigger, branch="main", max_body=1024, on_result=self.metrics.webhook
        )

    def _trigger(self, delivery: str) -> None:
        self.deliveries.append(delivery)
        self.fired.set()


@pytest.fixture
def served() -> Iterator[tuple[Hook, str]]:
    hook = Hook()

    def metrics(request: Request) -> Response:
        return Response(200, hook.metrics.render().encode(), CONTENT_TYPE)

    listener = Listener(
        "127.0.0.1:0",
        {("POST", PATH): (hook.hook.gate, hook.hook.handle), ("GET", "/metrics"): (None, metrics)},
    ).start()
    try:
        yield hook, f"http://{listener.address}"
    finally:
        listener.close()


def _post(base: str, body: bytes, sig: str | None, delivery: str) -> requests.Response:
    headers = {
        "X-Gitea-Delivery": delivery,
        "X-Gitea-Event": "push",
        "Content-Type": "application/json",
    }
    if sig is not None:
        headers["X-Gitea-Signature"] = sig
    return requests.post(base + PATH, data=body, headers=headers, timeout=5)


def test_only_a_correctly_signed_new_delivery_triggers(served: tuple[Hook, str]) -> None:
    hook, base = served
    assert _post(base, PUSH, None, "d1").status_code == 401
    assert _post(base, PUSH, signature(b"wrong", PUSH), "d1").status_code == 401
    assert _post(base, PUSH, "zz", "d1").status_code == 401
    assert not hook.fired.is_set()

    good = _post(base, PUSH, signature(SECRET, PUSH), "d1")
    assert good.status_code == 202 and good.json() == {"status": "queued"}
    assert hook.fired.wait(1.0)
    replay = _post(base, PUSH, signature(SECRET, PUSH), "d1")
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    assert hook.deliveries == ["d1"]


def test_other_branches_big_bodies_and_unknown_paths(served: tuple[Hook, str]) -> None:
    hook, base = served
    other = json.dumps({"ref": "refs/heads/feature"}).encode()
    assert _post(base, other, signature(SECRET, other), "d2").json()["status"] == "ignored"
    big = b"x" * 2048
    assert _post(base, big, signature(SECRET, big), "d3").status_code == 413
    assert requests.post(base + "/other", data=b"{}", timeout=5).status_code == 404
    assert hook.deliveries == []
    text = requests.get(base + "/metrics", timeout=5).text
    assert 'reconciler_webhook_requests_total{code="413"} 1' in text


def test_metrics_exposition_format() -> None:
    metrics = Metrics()
    metrics.cycle("success", 1.5, 1_700_000_000.0)
    metrics.cycle("failed", 0.5, 1_700_000_100.0)
    metrics.revisions("abc123", "bad456")
    metrics.drift({"container": 2, "table": 1})
    metrics.drift({"table": 1})
    text = metrics.render()
    samples: dict[str, float] = {}
    for line in text.splitlines():  # every sample line is `name{labels} number`
        if not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    assert samples['reconciler_cycles_total{result="success"}'] == 1
    assert samples['reconciler_cycles_total{result="rejected"}'] == 0
    assert samples["reconciler_cycle_duration_seconds_sum"] == 2
    assert samples["reconciler_cycle_duration_seconds_count"] == 2
    assert samples["reconciler_last_success_timestamp_seconds"] == 1_700_000_000
    assert samples["reconciler_last_cycle_timestamp_seconds"] == 1_700_000_100
    assert samples['reconciler_drifted_resources{kind="container"}'] == 0
    assert samples['reconciler_drifted_resources{kind="table"}'] == 1
    assert samples['reconciler_revision_info{revision="abc123"}'] == 1
    assert samples['reconciler_specs_rejected{revision="bad456"}'] == 1
    metrics.revisions("abc123", None)
    assert "reconciler_specs_rejected 0.0" in metrics.render().splitlines()


def test_parse_listen() -> None:
    assert parse_listen("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_listen(":9464") == ("127.0.0.1", 9464)
    assert parse_listen("[::1]:9464") == ("::1", 9464)
    with pytest.raises(ValueError):
        parse_listen("localhost")
