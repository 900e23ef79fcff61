"""HTTP/1.1 framing for the simulator: request head parsing and answer heads; no sockets."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_LINE = 65536
MAX_HEADERS = 100
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SERVER = "pve-api-daemon/3.0"


class BadRequest(Exception):
    """The request head cannot be served; the connection is closed after the answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class RequestHead:
    """Request line and headers; header names are lower-case, the first value wins."""

    method: str
    target: str
    version: str
    headers: dict[str, str]

    @property
    def keep_alive(self) -> bool:
        """HTTP/1.1 keeps the connection unless told not to; HTTP/1.0 only when asked."""
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        if "close" in tokens:
            return False
        return self.version == "HTTP/1.1" or "keep-alive" in tokens

    @property
    def accepts_gzip(self) -> bool:
        """Accept-Encoding lists gzip (or *) with a non-zero quality."""
        for item in self.headers.get("accept-encoding", "").split(","):
            coding, _, params = item.partition(";")
            if coding.strip().lower() not in ("gzip", "*"):
                continue
            quality = params.strip().lower()
            if not quality.startswith("q="):
                return True
            try:
                return float(quality[2:]) > 0
            except ValueError:
                return False
        return False

    @property
    def content_length(self) -> int:
        """Declared body length (0 without the header); BadRequest when unusable."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            raise BadRequest(411, "Length Required")
        text = self.headers.get("content-length", "0").strip() or "0"
        if not text.isdigit():
            raise BadRequest(400, "Bad Content-Length")
        return int(text)


def read_head(readline: Callable[[int], bytes]) -> RequestHead | None:
    """Read one request head; None when the peer closed (or sent nothing) before it."""
    line = readline(MAX_LINE + 1)
    while line in (b"\r\n", b"\n"):  # RFC 9112: ignore stray empty lines before a request
        line = readline(MAX_LINE + 1)
    if not line:
        return None
    if len(line) > MAX_LINE:
        raise BadRequest(414, "Request-URI Too Long")
    words = line.decode("iso-8859-1").rstrip("\r\n").split(" ")
    if len(words) != 3 or not words[2].startswith("HTTP/") or not words[1]:
        raise BadRequest(400, "Bad request syntax")
    method, target, version = words
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise BadRequest(505, "HTTP Version Not Supported")
    return RequestHead(method, target, version, _headers(readline))


def _headers(readline: Callable[[int], bytes]) -> dict[str, str]:
    out: dict[str, str] = {}
    last = ""
    for _ in range(MAX_HEADERS + 1):
        raw = readline(MAX_LINE + 1)
        if len(raw) > MAX_LINE:
            raise BadRequest(431, "Line too long")
        if raw in (b"\r\n", b"\n", b""):
            return out
        line = raw.decode("iso-8859-1").rstrip("\r\n")
        if line[:1] in (" ", "\t"):  # obsolete line folding continues the previous value
            if last:
                out[last] = f"{out[last]} {line.strip()}"
            continue
        name, sep, value = line.partition(":")
        name = name.strip().lower()
        if not sep or not name:
            raise BadRequest(400, "Bad header line")
        if name not in out:
            out[name] = value.strip()
            last = name
        else:
            last = ""
    raise BadRequest(431, "Too many headers")


def http_date(now: float) -> str:
    """RFC 9110 IMF-fixdate, locale-independent."""
    t = time.gmtime(now)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def answer_head(
    status: int, reason: str, length: int, close: bool, date: str, gzipped: bool = False
) -> bytes:
    """Status line and headers of a JSON answer, ready to prepend to the body."""
    # the status line is latin-1 on the wire; never let a message break the answer
    text = reason.replace("\r", " ").replace("\n", " ")
    text = text.encode("latin-1", "replace").decode("latin-1")
    head = (
        f"HTTP/1.1 {status} {text}\r\n"
        f"Server: {SERVER}\r\n"
        f"Date: {date}\r\n"
        "Content-Type: application/json;charset=UTF-8\r\n"
        f"Content-Length: {length}\r\n"
        "Cache-Control: max-age=0\r\n"
    )
    if gzipped:
        head += "Content-Encoding: gzip\r\n"
    if close:
        head += "Connection: close\r\n"
    return (head + "\r\n").encode("latin-1")
