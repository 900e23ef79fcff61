"""A small real HTTP server on loopback standing in for Gitea's commit status API."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Posted:
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.raw)
        return doc

    @property
    def sha(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class StatusServer:
    """Records every request; answers 201 once `gate` is open (tests hold it to stall Gitea)."""

    def __init__(self) -> None:
        self.posted: list[Posted] = []
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with server._lock:
                    server.posted.append(Posted(self.path, dict(self.headers.items()), raw))
                server.gate.wait(timeout=60)
                answer = json.dumps({"id": len(server.posted)}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, owner: str = "datalake", repo: str = "specs") -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/repos/{owner}/{repo}/statuses/{{sha}}"

    def requests(self) -> list[Posted]:
        with self._lock:
            return list(self.posted)

    def __enter__(self) -> StatusServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gate.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)
