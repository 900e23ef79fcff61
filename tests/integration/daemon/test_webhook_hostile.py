"""Hostile input to the daemon's HTTP endpoints over real loopback sockets (issue 14, item 5):
replays with new delivery ids, floods from one source, malformed headers, bodies sent where
none is taken, too many connections, and a handler that raises."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from daemon_gitrepo import Origin, free_port
from daemon_harness import DaemonProcess, container, write_config

from reconciler.daemon.http import Listener, Request, Response, parse_listen
from reconciler.daemon.metrics import CONTENT_TYPE, Metrics
from reconciler.daemon.webhook import PATH, GiteaWebhook, signature

SECRET = b"hook-secret"
BEFORE, AFTER = "1" * 40, "2" * 40
PUSH = json.dumps({"ref": "refs/heads/main", "before": BEFORE, "after": AFTER}).encode()


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Served:
    base: str
    address: str
    metrics: Metrics
    clock: Clock
    deliveries: list[str] = field(default_factory=list)


def _serve(rate_limit: int = 1000, max_connections: int = 32) -> Iterator[Served]:
    metrics, clock = Metrics(), Clock()
    deliveries: list[str] = []
    hook = GiteaWebhook(
        SECRET,
        deliveries.append,
        branch="main",
        max_body=4096,
        on_result=metrics.webhook,
        rate_limit=rate_limit,
        clock=clock,
    )

    def scrape(request: Request) -> Response:
        return Response(200, metrics.render().encode(), CONTENT_TYPE)

    def boom(request: Request) -> Response:
        raise RuntimeError("the value hunter2 must never be shown")

    listener = Listener(
        "127.0.0.1:0",
        {
            ("POST", PATH): (hook.gate, hook.handle),
            ("GET", "/metrics"): (None, scrape),
            ("GET", "/boom"): (None, boom),
        },
        on_reject=metrics.rejected,
        max_connections=max_connections,
    ).start()
    try:
        yield Served(f"http://{listener.address}", listener.address, metrics, clock, deliveries)
    finally:
        listener.close()


@pytest.fixture
def served() -> Iterator[Served]:
    yield from _serve()


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def raw(address: str, data: bytes, source: str = "127.0.0.1", timeout: float = 5) -> Answer:
    """One request written byte for byte (no client library to tidy it up), one answer read."""
    host, port = parse_listen(address)
    with socket.create_connection((host, port), timeout=timeout, source_address=(source, 0)) as s:
        s.sendall(data)
        response = http.client.HTTPResponse(s)
        response.begin()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )


def post(
    address: str,
    body: bytes,
    delivery: str = "d1",
    sig: bytes | None = None,
    source: str = "127.0.0.1",
    extra: bytes = b"",
) -> Answer:
    sig = signature(SECRET, body).encode() if sig is None else sig
    head = (
        b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Gitea-Event: push\r\n"
        b"X-Gitea-Delivery: " + delivery.encode() + b"\r\nX-Gitea-Signature: " + sig + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n" + extra + b"\r\n"
    )
    return raw(address, head + body, source)


def rejected(served: Served) -> dict[str, float]:
    samples = {}
    for line in served.metrics.render().splitlines():
        if line.startswith("reconciler_http_rejected_requests_total{"):
            name, value = line.rsplit(" ", 1)
            samples[name.split('"')[1]] = float(value)
    return samples


def test_a_replayed_signed_body_with_a_new_delivery_id_triggers_nothing(served: Served) -> None:
    assert post(served.address, PUSH, "d1").status == 202
    for delivery in ("d2", "d3", "d4", "d5"):  # a forger can set any id: the body is what counts
        answer = post(served.address, PUSH, delivery)
        assert (answer.status, json.loads(answer.body)) == (200, {"status": "duplicate"})
    # The same push re-signed in another serialisation is the same move of the branch.
    again = json.dumps({"after": AFTER, "before": BEFORE, "ref": "refs/heads/main", "x": 1})
    assert post(served.address, again.encode(), "d6").status == 200
    assert served.deliveries == ["d1"]
    newer = json.dumps({"ref": "refs/heads/main", "before": AFTER, "after": "3" * 40}).encode()
    assert post(served.address, newer, "d1").status == 202  # an old id, but a new signed push
    assert served.deliveries == ["d1", "d1"]
    assert rejected(served)["replayed"] == 5


def test_a_signed_body_under_another_event_name_is_still_a_replay(served: Served) -> None:
    assert post(served.address, PUSH).status == 202
    other = post(served.address, PUSH, "d9", extra=b"X-Gitea-Event: pull_request\r\n")
    assert other.status == 200 and served.deliveries == ["d1"]


def test_rate_limit_per_source_with_retry_after() -> None:
    for served in _serve(rate_limit=3):
        for _ in range(3):  # the burst: even unsigned requests spend it
            assert post(served.address, b"{}", sig=b"0" * 64).status == 401
        limited = post(served.address, PUSH)
        assert limited.status == 429
        assert limited.headers["retry-after"] == "20"  # 3/min: one request per 20 s
        assert post(served.address, PUSH, source="127.0.0.2").status == 202  # another source
        served.clock.now += 19
        assert post(served.address, PUSH, source="127.0.0.1").status == 429
        served.clock.now += 1
        assert post(served.address, PUSH, source="127.0.0.1").status == 200  # let in: a replay
        assert post(served.address, PUSH, source="127.0.0.1").status == 429
        assert served.deliveries == ["d1"]
        assert rejected(served)["rate_limited"] == 3


SIG, LEN = b"X-Gitea-Signature: ", b"Content-Length: "
NOT_JSON = b"not json"
MALFORMED = [
    # (id, header lines as bytes on the wire, body, status, reason); a valid signature and
    # a true Content-Length are added unless the case gives its own.
    ("signature-non-ascii", [SIG + "é".encode() * 32], b"{}", 401, "signature_malformed"),
    ("signature-latin1-byte", [SIG + b"\xb2" * 64], b"{}", 401, "signature_malformed"),
    ("signature-not-hex", [SIG + b"z" * 64], b"{}", 401, "signature_malformed"),
    ("signature-empty", [SIG], b"{}", 401, "signature_missing"),
    ("signature-wrong", [SIG + b"0" * 64], b"{}", 401, "signature_mismatch"),
    ("length-superscript-utf8", [LEN + "²".encode()], b"", 400, "content_length_invalid"),
    ("length-superscript-latin1", [LEN + b"\xb2"], b"", 400, "content_length_invalid"),
    ("length-arabic-digit", [LEN + "٢".encode()], b"", 400, "content_length_invalid"),
    ("length-negative", [LEN + b"-1"], b"", 400, "content_length_invalid"),
    ("length-not-a-number", [LEN + b"abc"], b"", 400, "content_length_invalid"),
    ("length-exponent", [LEN + b"1e3"], b"", 400, "content_length_invalid"),
    ("length-twice", [LEN + b"2", LEN + b"2"], b"{}", 400, "content_length_invalid"),
    ("length-missing", [LEN], None, 411, "content_length_missing"),
    ("chunked", [b"Transfer-Encoding: chunked"], None, 411, "content_length_missing"),
    ("oversize", [LEN + b"99999999"], b"", 413, "body_too_large"),
    ("not-json", [], NOT_JSON, 400, "payload_invalid"),
    ("json-nested-past-the-stack", [], b"[" * 4000, 400, "payload_invalid"),
    ("json-not-utf8", [], b'{"ref": "\xff"}', 400, "payload_invalid"),
]


def _request(headers: list[bytes], body: bytes | None) -> bytes:
    lines = [b"POST " + PATH.encode() + b" HTTP/1.1", b"Host: x", b"X-Gitea-Event: push"]
    if not any(h.startswith(SIG) for h in headers):
        lines.append(SIG + signature(SECRET, body or b"").encode())
    if body is not None and not any(h.startswith(LEN) for h in headers):
        lines.append(LEN + str(len(body)).encode())
    lines += [h for h in headers if h != LEN]  # a bare LEN marks "no Content-Length at all"
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


@pytest.mark.parametrize(
    ("headers", "body", "status", "reason"),
    [m[1:] for m in MALFORMED],
    ids=[m[0] for m in MALFORMED],
)
def test_every_malformed_header_is_a_counted_4xx_never_a_traceback(
    served: Served,
    capfd: pytest.CaptureFixture[str],
    headers: list[bytes],
    body: bytes | None,
    status: int,
    reason: str,
) -> None:
    answer = raw(served.address, _request(headers, body))
    assert answer.status == status
    assert json.loads(answer.body)["error"]  # our JSON answer, not a stack dump
    assert rejected(served) == {reason: 1}
    assert served.deliveries == []
    # The listener still serves, and nothing reached stderr as a traceback.
    assert raw(served.address, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").status == 200
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize(
    "header", [LEN + b"500000000", b"Transfer-Encoding: chunked"], ids=["length", "chunked"]
)
def test_a_body_sent_to_an_endpoint_that_takes_none_is_refused_unread(
    served: Served, header: bytes
) -> None:
    # Only the head is sent: an answer at all proves the body was never waited for.
    answer = raw(served.address, b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n\r\n")
    assert (answer.status, answer.headers["connection"]) == (413, "close")
    unknown = raw(served.address, b"POST /nowhere HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n\r\n")
    assert (unknown.status, unknown.headers["connection"]) == (404, "close")
    assert rejected(served) == {"body_not_allowed": 1, "not_found": 1}


def test_a_refused_body_never_becomes_the_next_request(served: Served) -> None:
    # Keep-alive after an unread body would parse the body as a request: smuggling.
    smuggled = b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n"
    head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(smuggled)
    assert raw(served.address, head + smuggled).status == 413
    time.sleep(0.2)
    assert "internal_error" not in rejected(served)


def test_an_exception_in_a_handler_is_a_500_naming_nothing(
    served: Served, capfd: pytest.CaptureFixture[str]
) -> None:
    answer = raw(served.address, b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (answer.status, json.loads(answer.body)) == (500, {"error": "internal error"})
    err = capfd.readouterr()
    assert "Traceback" not in err.err and "hunter2" not in err.err + err.out
    assert rejected(served) == {"internal_error": 1}


def test_garbage_is_a_counted_400(served: Served) -> None:
    answer = raw(served.address, b"\xff\xfe \x00garbage x HTTP/1.1\r\n\r\n")
    assert answer.status == 400
    too_many = b"".join(b"X-%d: y\r\n" % n for n in range(200))
    assert raw(served.address, b"GET /metrics HTTP/1.1\r\n" + too_many + b"\r\n").status == 431
    assert rejected(served) == {"bad_request": 1, "headers_too_large": 1}


def test_connections_over_the_cap_get_503_and_the_slots_come_back() -> None:
    for served in _serve(max_connections=2):
        host, port = parse_listen(served.address)
        idle = [socket.create_connection((host, port), timeout=5) for _ in range(2)]
        for sock in idle:  # half a request: each pins a handler thread
            sock.sendall(b"GET /metrics HTTP/1.1\r\n")
        time.sleep(0.2)
        busy = raw(served.address, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (busy.status, busy.headers["retry-after"]) == (503, "1")
        for sock in idle:
            sock.close()
        deadline = time.monotonic() + 5
        while raw(served.address, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").status != 200:
            assert time.monotonic() < deadline, "the slots were never given back"
            time.sleep(0.05)
        assert rejected(served)["busy"] >= 1


def test_many_parallel_clients_are_each_answered(served: Served) -> None:
    statuses: list[int] = []

    def one(n: int) -> None:
        body = json.dumps({"ref": "refs/heads/main", "after": f"{n:040d}"}).encode()
        statuses.append(post(served.address, body, f"d{n}").status)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(statuses) == [202] * 20 and len(served.deliveries) == 20


def test_the_real_daemon_acts_once_per_signed_push_and_survives_hostile_requests(
    origin: Origin, pvesim: Any, tmp_path: Path, daemons: list[DaemonProcess]
) -> None:
    origin.commit({"specs/a.yaml": container("a", 211)})
    hook, scrape = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    config = write_config(tmp_path, origin.url, pvesim, poll="1h", webhook=hook, metrics=scrape)
    text = config.read_text().replace(
        "secret_env: WEBHOOK_SECRET}", "secret_env: WEBHOOK_SECRET, rate_limit: 5}"
    )
    config.write_text(text)
    daemon = DaemonProcess(config, pvesim).start()
    daemons.append(daemon)
    daemon.until("start cycle", lambda: daemon.status()["last_result"] == "success")
    head = origin.commit({"specs/a.yaml": container("a", 211, "2GiB")})
    body = json.dumps({"ref": "refs/heads/main", "before": "0" * 40, "after": head}).encode()

    assert post(hook, body, "d-1").status == 202
    daemon.until("webhook cycle", lambda: any(c["trigger"] == "webhook" for c in daemon.history()))
    assert [post(hook, body, d).status for d in ("d-2", "d-3")] == [200, 200]  # replays
    assert raw(hook, b"POST /hooks/gitea HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n").status == 400
    assert post(hook, b"{}", sig="é".encode() * 32).status == 401
    get = b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 500000000\r\n\r\n"
    assert raw(scrape, get).status == 413  # answered although the 500 MB never came
    assert post(hook, b"{}", sig=b"0" * 64).status == 401  # the 5th request this minute
    # 5 a minute refill one every 12 s: within a few more the source is held back.
    limited = [post(hook, body, f"d-{n}") for n in range(4, 7)]
    assert limited[-1].status == 429 and limited[-1].headers["retry-after"].isdigit()

    time.sleep(1.0)
    assert [c["trigger"] for c in daemon.history()].count("webhook") == 1
    metrics = raw(scrape, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").body.decode()
    for reason, count in (
        ("replayed", 2 + sum(a.status == 200 for a in limited)),
        ("content_length_invalid", 1),
        ("signature_malformed", 1),
        ("body_not_allowed", 1),
        ("signature_mismatch", 1),
        ("rate_limited", sum(a.status == 429 for a in limited)),
    ):
        assert f'reconciler_http_rejected_requests_total{{reason="{reason}"}} {count}.0' in metrics
    assert daemon.proc is not None and daemon.proc.poll() is None
    assert "Traceback" not in daemon.output()
