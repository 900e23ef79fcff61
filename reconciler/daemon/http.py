"""A tiny threaded HTTP listener for the webhook and metrics endpoints; routes given by callers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import structlog

log = structlog.get_logger("reconciler.daemon.http")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"


# A route sees the request before its body is read (None) to refuse early, e.g. 413.
Route = Callable[[Request], Response]
Gate = Callable[[Request], Response | None]


def parse_listen(listen: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """`host:port`, `[v6]:port` or `:port` (loopback unless an address is configured)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"listen address {listen!r} must be host:port")
    host = host.strip("[]") or default_host
    return host, int(port)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def _handler(routes: Mapping[tuple[str, str], tuple[Gate | None, Route]]) -> type:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a slow client cannot pin a thread for long
        server_version = "reconciler"

        def _dispatch(self, method: str) -> None:
            path = self.path.split("?", 1)[0]
            entry = routes.get((method, path))
            if entry is None:
                self._send(Response(404, b'{"error": "not found"}'))
                return
            gate, route = entry
            head = Request(method, path, dict(self.headers.items()), b"")
            early = gate(head) if gate is not None else None
            if early is not None:
                self.close_connection = True
                self._send(early)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            self._send(route(Request(method, path, head.headers, body)))

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def _send(self, response: Response) -> None:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server API)
            log.debug("http.request", line=format % args)

    return Handler


class Listener:
    """One HTTP server on its own thread; `close()` stops it."""

    def __init__(
        self, listen: str, routes: Mapping[tuple[str, str], tuple[Gate | None, Route]]
    ) -> None:
        host, port = parse_listen(listen)
        server = _Server6 if ":" in host else _Server
        self._server = server((host, port), _handler(routes))
        self.address = f"{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"http-{self.address}",
            daemon=True,
        )

    def start(self) -> Listener:
        self._thread.start()
        log.info("http.listening", address=self.address)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
