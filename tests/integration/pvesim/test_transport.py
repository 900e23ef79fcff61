"""HTTP/1.1 transport of the simulator: keep-alive, framing errors, gzip (raw TLS sockets)."""

from __future__ import annotations

import gzip
import json
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests

from reconciler.testing.pvesim import PveSim

from .helpers import create_ct, raw


@contextmanager
def _tls(sim: PveSim) -> Iterator[ssl.SSLSocket]:
    ctx = ssl.create_default_context(cafile=sim.ca_file)
    with (
        socket.create_connection((sim.host, sim.port), timeout=10) as plain,
        ctx.wrap_socket(plain, server_hostname=sim.host) as conn,
    ):
        yield conn


def _auth(sim: PveSim) -> str:
    return f"Authorization: PVEAPIToken={sim.token_user}!{sim.token_name}={sim.token_secret}\r\n"


def _answer(conn: ssl.SSLSocket) -> tuple[str, dict[str, str], bytes]:
    """Read one answer: status line, headers (lower-case names), body by Content-Length."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        assert chunk, "connection closed before the answer head"
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines)}
    while len(body) < int(headers["content-length"]):
        chunk = conn.recv(65536)
        assert chunk, "connection closed inside the body"
        body += chunk
    return status, headers, body


def _closed(conn: ssl.SSLSocket) -> bool:
    try:
        return conn.recv(1) == b""
    except (ssl.SSLError, OSError):
        return True


def _six_cts(sim: PveSim) -> None:
    api = sim.api()
    for vmid in range(100, 106):
        create_ct(api, vmid)


def test_proxmoxer_session_reuses_one_connection(pvesim: PveSim) -> None:
    api = pvesim.api()
    before = pvesim.transport_stats()
    for _ in range(25):
        assert api.version.get()["release"] == "8.3"
    after = pvesim.transport_stats()
    assert after["connections_accepted"] - before["connections_accepted"] == 1
    assert after["requests"] - before["requests"] == 25
    stats = requests.get(f"{pvesim.url}/_sim/stats", verify=pvesim.ca_file, timeout=10).json()
    assert stats["data"]["connections_accepted"] == after["connections_accepted"] + 1


def test_pipelined_requests_on_one_socket_then_close(pvesim: PveSim) -> None:
    get = f"GET /api2/json/version HTTP/1.1\r\nHost: x\r\n{_auth(pvesim)}"
    with _tls(pvesim) as conn:
        conn.sendall((get + "\r\n" + get + "Connection: close\r\n\r\n").encode())
        first = _answer(conn)
        second = _answer(conn)
        assert first[0] == second[0] == "HTTP/1.1 200 OK"
        assert "connection" not in first[1]
        assert second[1]["connection"] == "close"
        assert json.loads(second[2])["data"]["version"] == "8.3.2"
        assert _closed(conn)


def test_http10_closes_unless_keep_alive_asked(pvesim: PveSim) -> None:
    with _tls(pvesim) as conn:
        conn.sendall(f"GET /api2/json/version HTTP/1.0\r\n{_auth(pvesim)}\r\n".encode())
        status, headers, _ = _answer(conn)
        assert status == "HTTP/1.1 200 OK" and headers["connection"] == "close"
        assert _closed(conn)
    with _tls(pvesim) as conn:
        req = f"GET /api2/json/version HTTP/1.0\r\nConnection: keep-alive\r\n{_auth(pvesim)}\r\n"
        conn.sendall(req.encode() * 2)
        assert _answer(conn)[0] == _answer(conn)[0] == "HTTP/1.1 200 OK"


def test_framing_errors_answer_and_close(pvesim: PveSim) -> None:
    cases = {
        b"GARBAGE\r\n\r\n": "HTTP/1.1 400 Bad request syntax",
        b"GET /api2/json/version HTTP/2.0\r\n\r\n": "HTTP/1.1 505 HTTP Version Not Supported",
        b"POST /api2/json/nodes HTTP/1.1\r\nContent-Length: x\r\n\r\n": (
            "HTTP/1.1 400 Bad Content-Length"
        ),
        b"POST /api2/json/nodes HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n": (
            "HTTP/1.1 411 Length Required"
        ),
        b"GET /api2/json/version HTTP/1.1\r\nno colon here\r\n\r\n": "HTTP/1.1 400 Bad header line",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n": "HTTP/1.1 414 Request-URI Too Long",
    }
    for request, expected in cases.items():
        with _tls(pvesim) as conn:
            conn.sendall(request)
            status, headers, body = _answer(conn)
            assert status == expected, request[:60]
            assert headers["connection"] == "close"
            assert json.loads(body)["data"] is None
            assert _closed(conn)


def test_head_and_unknown_method_keep_framing(pvesim: PveSim) -> None:
    with _tls(pvesim) as conn:
        conn.sendall(f"PATCH /api2/json/version HTTP/1.1\r\n{_auth(pvesim)}\r\n".encode())
        status, _, body = _answer(conn)
        assert status == "HTTP/1.1 501 Method 'PATCH /version' not implemented"
        assert json.loads(body)["message"] == "Method 'PATCH /version' not implemented\n"
        conn.sendall(
            f"HEAD /api2/json/version HTTP/1.1\r\n{_auth(pvesim)}\r\n"
            f"GET /api2/json/version HTTP/1.1\r\n{_auth(pvesim)}\r\n".encode()
        )
        buf = b""
        while buf.count(b"\r\n\r\n") < 2 or not buf.endswith(b"}}"):
            chunk = conn.recv(65536)
            assert chunk, buf
            buf += chunk
        head_answer, get_answer = buf.split(b"\r\n\r\n", 1)
        assert head_answer.startswith(b"HTTP/1.1 501 Method 'HEAD /version' not implemented")
        assert b"Content-Length: 66" in head_answer  # a length, but no body after a HEAD
        assert get_answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert get_answer.endswith(b'"console":"xtermjs"}}')


def test_large_answers_are_gzipped_for_clients_that_accept_it(pvesim: PveSim) -> None:
    _six_cts(pvesim)
    plain = raw(pvesim, "GET", "/cluster/resources", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    packed = raw(pvesim, "GET", "/cluster/resources", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert int(packed.headers["Content-Length"]) < len(plain.content) // 3
    assert packed.json() == plain.json()
    assert len(plain.json()["data"]) == 6 + 3  # guests, the node, its storages
    refused = raw(pvesim, "GET", "/cluster/resources", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    small = raw(pvesim, "GET", "/version", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers
    with _tls(pvesim) as conn:
        conn.sendall(
            f"GET /api2/json/cluster/resources HTTP/1.1\r\nAccept-Encoding: gzip\r\n"
            f"{_auth(pvesim)}\r\n".encode()
        )
        _, headers, body = _answer(conn)
        assert headers["content-encoding"] == "gzip"
        assert json.loads(gzip.decompress(body)) == plain.json()


def test_compression_off_like_pveproxy_compression_0(pvesim_factory: Callable[..., PveSim]) -> None:
    sim = pvesim_factory(compression=False)
    _six_cts(sim)
    resp = raw(sim, "GET", "/cluster/resources", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in resp.headers
    assert len(resp.content) > 1024 and len(resp.json()["data"]) == 9
