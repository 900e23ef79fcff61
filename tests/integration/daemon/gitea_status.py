"""A real HTTP server on loopback standing in for the Gitea API the daemon uses.

Speaks commit statuses (`POST /api/v1/repos/{o}/{r}/statuses/{sha}`) and pull-request
comments (`GET`/`POST /api/v1/repos/{o}/{r}/issues/{n}/comments`, `PATCH
/api/v1/repos/{o}/{r}/issues/comments/{id}`); records every request it receives.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_REPO = r"/api/v1/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_STATUS = re.compile(_REPO + r"/statuses/(?P<sha>[0-9a-f]+)")
_COMMENTS = re.compile(_REPO + r"/issues/(?P<number>[0-9]+)/comments")
_COMMENT = re.compile(_REPO + r"/issues/comments/(?P<id>[0-9]+)")
BOT = "reconciler-bot"


@dataclass(frozen=True)
class Posted:
    path: str
    headers: dict[str, str]
    raw: bytes
    method: str = "POST"

    @property
    def body(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.raw)
        return doc

    @property
    def sha(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class StatusServer:
    """Records every request; answers once `gate` is open (tests hold it to stall Gitea).

    `comments` holds the pull requests' comments by id: {id: {"id", "number", "body", "user"}}.
    """

    def __init__(self) -> None:
        self.posted: list[Posted] = []
        self.comments: dict[int, dict[str, Any]] = {}
        self._next_id = 1000  # comment ids, never reused (as in Gitea)
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with server._lock:
                    server.posted.append(Posted(self.path, dict(self.headers.items()), raw, method))
                server.gate.wait(timeout=60)
                code, answer = server._answer(method, self.path, raw)
                data = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def _answer(self, method: str, path: str, raw: bytes) -> tuple[int, Any]:
        with self._lock:
            if method == "POST" and _STATUS.fullmatch(path):
                return 201, {"id": len(self.posted)}
            match = _COMMENTS.fullmatch(path)
            if match and method == "GET":
                number = int(match["number"])
                return 200, [c for c in self.comments.values() if c["number"] == number]
            if match and method == "POST":
                self._next_id += 1
                made = {
                    "id": self._next_id - 1,
                    "number": int(match["number"]),
                    "body": json.loads(raw)["body"],
                    "user": {"login": BOT},
                }
                self.comments[made["id"]] = made
                return 201, made
            match = _COMMENT.fullmatch(path)
            if match and method == "PATCH":
                comment = self.comments.get(int(match["id"]))
                if comment is None:
                    return 404, {"message": "comment does not exist"}
                comment["body"] = json.loads(raw)["body"]
                return 200, comment
        return 404, {"message": "not found"}

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, owner: str = "datalake", repo: str = "specs") -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/repos/{owner}/{repo}/statuses/{{sha}}"

    def requests(self) -> list[Posted]:
        with self._lock:
            return list(self.posted)

    def statuses(self, context: str | None = None) -> list[Posted]:
        """The status posts, oldest first (of one context)."""
        return [
            p
            for p in self.requests()
            if p.method == "POST"
            and _STATUS.fullmatch(p.path)
            and (context is None or p.body.get("context") == context)
        ]

    def comment_requests(self) -> list[Posted]:
        return [
            p for p in self.requests() if _COMMENTS.fullmatch(p.path) or _COMMENT.fullmatch(p.path)
        ]

    def __enter__(self) -> StatusServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gate.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)
