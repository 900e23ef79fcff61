"""HTTPS transport: a threaded stdlib server, lean HTTP/1.1 keep-alive framing, SimCore answers."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from pathlib import Path
from socketserver import StreamRequestHandler, ThreadingTCPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .core import API, Answer, SimCore, encode
from .faults import Faults
from .wire import BadRequest, RequestHead, answer_head, http_date, read_head

_MAX_BODY = 16 * 1024 * 1024
_GZIP_MIN = 1024  # smaller answers gain nothing from compression


class SimHTTPServer(ThreadingTCPServer):
    """Thread per connection; tracks open connections so `stop` can cut keep-alives."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self, addr: tuple[str, int], core: SimCore, tls: ssl.SSLContext, compression: bool = True
    ) -> None:
        super().__init__(addr, SimHandler)
        self.core = core
        self.compression = compression
        self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._accepted = 0
        self._served = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
            self._accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def count_request(self) -> None:
        """One more answered request (any path)."""
        with self._conns_lock:
            self._served += 1

    def stats(self) -> dict[str, int]:
        """Transport counters: connections accepted, still open, requests answered."""
        with self._conns_lock:
            return {
                "connections_accepted": self._accepted,
                "connections_open": len(self._conns),
                "requests": self._served,
            }

    def close_connections(self) -> None:
        """Cut every open client connection (their threads then end)."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """Server-side TLS context for the generated certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


class SimHandler(StreamRequestHandler):
    """One connection: answers requests until the client closes or asks to (keep-alive)."""

    timeout = 60
    server: SimHTTPServer

    def setup(self) -> None:
        super().setup()
        # small writes + Nagle + delayed ACK would add ~40 ms per answer
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._open = True
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            self._open = False

    def handle(self) -> None:
        while self._open:
            self._open = self._one()

    def _one(self) -> bool:
        """Serve one request; False when the connection must end."""
        try:
            head = read_head(self.rfile.readline)
            if head is None:
                return False
            length = head.content_length
            if length > _MAX_BODY:
                raise BadRequest(413, "Request Entity Too Large")
            if head.headers.get("expect", "").lower() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            raw = self.rfile.read(length) if length else b""
            if len(raw) < length:
                return False
        except BadRequest as exc:
            self._reply("GET", _message(exc.status, exc.reason), keep=False)
            return False
        except OSError:  # timeouts, resets and TLS errors end the connection quietly
            return False
        keep = head.keep_alive
        gz = head.accepts_gzip and self.server.compression
        answer = self._serve(head, raw)
        if answer.drop:  # fault injection: the client sees its connection cut, no answer
            return False
        return self._reply(head.method, answer, keep, gz) and keep

    def _serve(self, head: RequestHead, raw: bytes) -> Answer:
        method = head.method
        url = urlsplit(head.target)
        ctype = head.headers.get("content-type", "").split(";")[0].strip().lower()
        params: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
        from_json = ctype == "application/json"
        try:
            if from_json and raw:
                doc = json.loads(raw)
                if not isinstance(doc, dict):
                    raise ValueError("JSON body must be an object")
                params.update(doc)
            elif raw:
                params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except (ValueError, UnicodeDecodeError) as exc:
            return Answer(400, "malformed request body", {"data": None, "message": f"{exc}\n"})
        core = self.server.core
        if url.path == API or url.path.startswith(API + "/"):
            return core.handle(method, url.path, params, from_json, head.headers)
        if url.path.rstrip("/") == "/_sim/stats" and method == "GET":
            return Answer(200, "OK", {"data": self.server.stats()})
        if url.path.startswith("/_sim/"):
            from .admin import handle_admin

            return handle_admin(core, method, url.path, params)
        return _message(501, f"Method '{method} {url.path}' not implemented")

    def _reply(self, method: str, answer: Answer, keep: bool, gz: bool = False) -> bool:
        """Send one answer; False when the client is gone."""
        data = encode(answer)
        # pveproxy gzips answers for clients that accept it (COMPRESSION=0 turns it off)
        gz = gz and len(data) >= _GZIP_MIN
        if gz:
            data = answer.gzipped()
        head = answer_head(
            answer.status, answer.reason, len(data), not keep, http_date(time.time()), gz
        )
        self.server.count_request()
        # one write: header and body leave in the same TLS records and TCP segments
        try:
            self.wfile.write(head if method == "HEAD" else head + data)
        except OSError:
            return False
        return True


def _message(status: int, text: str) -> Answer:
    return Answer(status, text, {"data": None, "message": text + "\n"})


def make_server(
    host: str, port: int, core: SimCore, cert: Path, key: Path, compression: bool = True
) -> SimHTTPServer:
    """Bind (port 0 picks a free one) and wrap in TLS; `compression` gzips large answers."""
    return SimHTTPServer((host, port), core, tls_context(cert, key), compression)


__all__ = ["Faults", "SimHTTPServer", "make_server"]
