"""A tiny threaded HTTP listener for the webhook and metrics endpoints; routes given by callers.

Hostile input is answered, never crashed on: a malformed `Content-Length` is a 400, a body
sent to an endpoint that takes none is a 413 (never read), more connections than the cap get
a 503, and an unexpected exception is a 500 that logs only its type. Every refusal carries a
`reason` that the `on_reject` callback counts.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog

log = structlog.get_logger("reconciler.daemon.http")

MAX_CONNECTIONS = 32  # handler threads at once; more connections are answered 503
_LENGTH = re.compile(r"[0-9]{1,18}")  # ASCII digits only: `²`, `-1`, `1e3` are malformed


class Headers(Mapping[str, str]):
    """Request headers looked up case-insensitively (clients spell names as they like)."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = {name.lower(): value for name, value in items}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    client: str = ""  # the remote address (rate limits are per source)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    reason: str | None = None  # why the request was refused, for the rejection counter


# A route with a gate takes a body: the gate sees the request before its body is read (body
# b"") and refuses early (411, 413, 429...); a route without a gate takes no body at all.
Route = Callable[[Request], Response]
Gate = Callable[[Request], Response | None]
OnReject = Callable[[str], None]


def refusal(status: int, reason: str, error: str, **headers: str) -> Response:
    """A JSON error answer that names its reason for the rejection counter."""
    body = json.dumps({"error": error}).encode()
    return Response(status, body, headers=tuple(headers.items()), reason=reason)


def parse_listen(listen: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """`host:port`, `[v6]:port` or `:port` (loopback unless an address is configured)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isascii() or not port.isdigit():
        raise ValueError(f"listen address {listen!r} must be host:port")
    host = host.strip("[]") or default_host
    return host, int(port)


def body_length(headers: Any, takes_body: bool = True) -> Response | int | None:
    """The announced body length (None: none announced), or the refusal of a malformed one."""
    lengths = headers.get_all("Content-Length") or []
    if len(lengths) > 1:
        return refusal(400, "content_length_invalid", "more than one Content-Length")
    if headers.get("Transfer-Encoding") is not None:
        if not takes_body:
            return refusal(413, "body_not_allowed", "this endpoint takes no body")
        return refusal(411, "content_length_missing", "Content-Length required, no chunking")
    if not lengths:
        return None
    if not _LENGTH.fullmatch(lengths[0].strip()):
        return refusal(400, "content_length_invalid", "Content-Length must be ASCII digits")
    return int(lengths[0].strip())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type, max_connections: int, on_reject: OnReject
    ) -> None:
        self._slots = threading.BoundedSemaphore(max_connections)
        self.on_reject = on_reject
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._busy(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _busy(self, request: socket.socket) -> None:
        """Answered from the accept loop without a thread: short, with a send timeout."""
        self.on_reject("busy")
        body = b'{"error": "too many connections"}'
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        )
        try:
            request.settimeout(1.0)
            request.sendall(head.encode() + body)
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Never the default traceback on stderr: the type says enough, a value might be secret.
        self.on_reject("internal_error")
        log.error("http.error", error=type(sys.exc_info()[1]).__name__)


class _Server6(_Server):
    address_family = socket.AF_INET6


_ERROR_REASONS = {400: "bad_request", 414: "uri_too_long", 431: "headers_too_large"}


def _handler(
    routes: Mapping[tuple[str, str], tuple[Gate | None, Route]], on_reject: OnReject
) -> type:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a slow client cannot pin a thread for long
        server_version = "reconciler"

        def _dispatch(self, method: str) -> None:
            try:
                response = self._answer(method)
            except Exception as exc:  # the last resort: a 500 naming nothing but the type
                log.error("http.handler_error", error=type(exc).__name__, path=self.path[:200])
                self.close_connection = True
                response = refusal(500, "internal_error", "internal error")
            self._send(response)

        def _answer(self, method: str) -> Response:
            path = self.path.split("?", 1)[0]
            early, entry, length = self._early(method, path)
            if early is not None or entry is None:
                # Whatever body follows is never read: the connection must not be reused.
                self.close_connection = True
                return early or refusal(404, "not_found", "not found")
            body = self.rfile.read(length) if length else b""
            return entry[1](Request(method, path, self._headers(), body, self._client()))

        def _early(
            self, method: str, path: str
        ) -> tuple[Response | None, tuple[Gate | None, Route] | None, int]:
            """The answer given before (and instead of) reading a body: an unknown path, a
            malformed length, a body where none is taken, or the route's own gate."""
            entry = routes.get((method, path))
            if entry is None:
                return refusal(404, "not_found", "not found"), None, 0
            gate = entry[0]
            length = body_length(self.headers, takes_body=gate is not None)
            if isinstance(length, Response):
                return length, entry, 0
            if gate is None:
                refused = refusal(413, "body_not_allowed", "this endpoint takes no body")
                return (refused if length else None), entry, 0
            head = Request(method, path, self._headers(), b"", self._client())
            return gate(head), entry, length or 0

        def _headers(self) -> Headers:
            return Headers(self.headers.items())

        def _client(self) -> str:
            return str(self.client_address[0])

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def _send(self, response: Response) -> None:
            if response.reason is not None:
                on_reject(response.reason)
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(response.body)

        def send_error(
            self, code: int, message: str | None = None, explain: str | None = None
        ) -> None:
            # http.server's own refusals (bad request line, too many headers, 501...).
            on_reject(_ERROR_REASONS.get(code, "bad_request" if code < 500 else "unsupported"))
            super().send_error(code, message, explain)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server API)
            log.debug("http.request", line=format % args)

    return Handler


class Listener:
    """One HTTP server on its own thread; `close()` stops it."""

    def __init__(
        self,
        listen: str,
        routes: Mapping[tuple[str, str], tuple[Gate | None, Route]],
        on_reject: OnReject | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        host, port = parse_listen(listen)
        reject = on_reject or (lambda reason: None)
        server = _Server6 if ":" in host else _Server
        self._server = server((host, port), _handler(routes, reject), max_connections, reject)
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
