"""HTTPS transport: a threaded stdlib server that parses requests and hands them to SimCore."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .core import API, Answer, SimCore, encode
from .faults import Faults

_MAX_BODY = 16 * 1024 * 1024


class SimHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that tracks open connections so `stop` can cut keep-alives."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], core: SimCore, tls: ssl.SSLContext) -> None:
        super().__init__(addr, SimHandler)
        self.core = core
        self.socket = tls.wrap_socket(self.socket, server_side=True,
                                      do_handshake_on_connect=False)
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut every open client connection (their threads then end)."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """Server-side TLS context for the generated certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


class SimHandler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive so proxmoxer sessions reuse it."""

    protocol_version = "HTTP/1.1"
    server_version = "pve-api-daemon/3.0"
    sys_version = ""
    timeout = 60
    server: SimHTTPServer

    def setup(self) -> None:
        super().setup()
        # small header/body writes + Nagle + delayed ACK would add ~40 ms per answer
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: the request log is the record."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        raw = self._body()
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
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
            self._send(Answer(400, "malformed request body", {"data": None,
                                                              "message": f"{exc}\n"}))
            return
        core = self.server.core
        if url.path.startswith("/_sim/"):
            from .admin import handle_admin

            self._send(handle_admin(core, method, url.path, params))
        elif url.path == API or url.path.startswith(API + "/"):
            self._send(core.handle(method, url.path, params, from_json, dict(self.headers)))
        else:
            msg = f"Method '{method} {url.path}' not implemented"
            self._send(Answer(501, msg, {"data": None, "message": msg + "\n"}))

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, answer: Answer) -> None:
        data = encode(answer)
        # the status line is latin-1 on the wire; never let a message break the answer
        reason = answer.reason.encode("latin-1", "replace").decode("latin-1")
        self.send_response(answer.status, reason)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "max-age=0")
        self.end_headers()
        self.wfile.write(data)


def make_server(host: str, port: int, core: SimCore, cert: Path, key: Path) -> SimHTTPServer:
    """Bind (port 0 picks a free one) and wrap in TLS."""
    return SimHTTPServer((host, port), core, tls_context(cert, key))


__all__ = ["Faults", "SimHTTPServer", "make_server"]
