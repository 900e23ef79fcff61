"""Gitea webhook: rate limit per source, size cap, HMAC-SHA256 check, replay guard; only triggers.

The replay guard keys on what the signature covers: a digest of the signed body (and, for a
push, the ref and the `before`/`after` revisions it moves), never on the unsigned
`X-Gitea-Delivery` header, which a forger can change at will. Events are dispatched by
`X-Gitea-Event`; `push` triggers a cycle, others are handled by name or ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import structlog

from reconciler.daemon.http import Request, Response, refusal

log = structlog.get_logger("reconciler.daemon.webhook")

PATH = "/hooks/gitea"
MAX_BODY = 1024 * 1024
RATE_LIMIT = 30  # requests per minute per source address (and a burst of as many)
MIN_RATE_LIMIT, MAX_RATE_LIMIT = 1, 100_000
_SIGNATURE = re.compile(r"[0-9a-f]{64}")  # hex SHA-256, nothing else (no non-ASCII, no spaces)

Clock = Callable[[], float]
# An event handler sees the parsed, signed payload and the (unsigned) delivery id.
EventHandler = Callable[[dict[str, Any], str], Response]


def signature(secret: bytes, body: bytes) -> str:
    """What Gitea sends in X-Gitea-Signature: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


class Seen:
    """A bounded LRU of replay keys already acted on (Gitea retries, redeliveries, replays)."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._guard = threading.Lock()

    def first_time(self, *keys: str) -> bool:
        """True (and all keys remembered) unless one of them was seen before."""
        with self._guard:
            known = [key for key in keys if key in self._seen]
            for key in keys:
                self._seen[key] = None
                self._seen.move_to_end(key)
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return not known


class RateLimit:
    """A token bucket per source address: `per_minute` requests, refilled continuously."""

    def __init__(self, per_minute: int, clock: Clock = time.monotonic, sources: int = 4096) -> None:
        if per_minute < MIN_RATE_LIMIT:
            raise ValueError(f"the webhook rate limit must be at least {MIN_RATE_LIMIT}/min")
        self._capacity = float(per_minute)
        self._per_second = per_minute / 60.0
        self._clock = clock
        self._sources = sources
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self._guard = threading.Lock()

    def wait(self, source: str) -> float:
        """0 when `source` may go on (a token is taken), else the seconds until it may."""
        with self._guard:
            now = self._clock()
            tokens, at = self._buckets.pop(source, (self._capacity, now))
            tokens = min(self._capacity, tokens + max(0.0, now - at) * self._per_second)
            allowed = tokens >= 1.0
            self._buckets[source] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self._sources:
                self._buckets.popitem(last=False)  # the longest idle sources are forgotten
            return 0.0 if allowed else (1.0 - tokens) / self._per_second


def _printable(value: str, limit: int = 100) -> str:
    """An unsigned header as it may appear in a log line or an answer: printable ASCII, short."""
    return "".join(c for c in value.strip()[:limit] if c.isascii() and c.isprintable())


def _json(code: int, **doc: str) -> Response:
    return Response(code, json.dumps(doc).encode())


class GiteaWebhook:
    """POST /hooks/gitea -> `trigger(delivery)` when signed, new, and a push to our branch."""

    def __init__(
        self,
        secret: bytes,
        trigger: Callable[[str], None],
        branch: str | None = None,
        max_body: int = MAX_BODY,
        on_result: Callable[[int], None] | None = None,
        rate_limit: int = RATE_LIMIT,
        clock: Clock = time.monotonic,
    ) -> None:
        if not secret:
            raise ValueError("the webhook needs a non-empty shared secret")
        self._secret = secret
        self._trigger = trigger
        self._branch = branch
        self._max_body = max_body
        self._seen = Seen()
        self._limit = RateLimit(rate_limit, clock)
        self._on_result = on_result or (lambda status: None)
        # By X-Gitea-Event; other events (pull_request previews...) register here.
        self.events: dict[str, EventHandler] = {"push": self._push}

    def gate(self, request: Request) -> Response | None:
        """Refuse before reading the body: too many requests, no length, or too large."""
        wait = self._limit.wait(request.client)
        if wait > 0:
            log.warning("webhook.rate_limited", source=request.client)
            retry = str(max(1, math.ceil(wait)))
            return self._done(
                refusal(429, "rate_limited", "too many requests", **{"Retry-After": retry})
            )
        length = request.headers.get("Content-Length")
        if length is None:
            return self._done(refusal(411, "content_length_missing", "Content-Length required"))
        if int(length) > self._max_body:  # the HTTP layer let only ASCII digits through
            log.warning("webhook.too_large", bytes=int(length))
            return self._done(refusal(413, "body_too_large", "payload too large"))
        return None

    def handle(self, request: Request) -> Response:
        refused = self._verify(request)
        if refused is not None:
            return self._done(refused)
        delivery = _printable(request.headers.get("X-Gitea-Delivery", ""))  # unsigned: logs only
        try:
            doc = json.loads(request.body)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the stack
            doc = None
        if not isinstance(doc, dict):
            return self._done(refusal(400, "payload_invalid", "the payload is not a JSON object"))
        if not self._seen.first_time(*self._replay_keys(request.body, doc)):
            log.info("webhook.duplicate", delivery=delivery)
            return self._done(Response(200, b'{"status": "duplicate"}', reason="replayed"))
        event = request.headers.get("X-Gitea-Event", "push").strip()
        handler = self.events.get(event)
        if handler is None:
            return self._done(_json(202, status="ignored", reason=f"event {_printable(event)}"))
        return self._done(handler(doc, delivery))

    def _verify(self, request: Request) -> Response | None:
        given = request.headers.get("X-Gitea-Signature", "").strip().lower()
        if not given:
            log.warning("webhook.bad_signature", present=False)
            return refusal(401, "signature_missing", "bad signature")
        if not _SIGNATURE.fullmatch(given):
            log.warning("webhook.bad_signature", present=True, malformed=True)
            return refusal(401, "signature_malformed", "bad signature")
        if not hmac.compare_digest(signature(self._secret, request.body), given):
            log.warning("webhook.bad_signature", present=True)
            return refusal(401, "signature_mismatch", "bad signature")
        return None

    @staticmethod
    def _replay_keys(body: bytes, doc: dict[str, Any]) -> tuple[str, ...]:
        """The signed body's digest, and for a push the move it announces (ref, before, after)."""
        keys = ["body:" + hashlib.sha256(body).hexdigest()]
        move = [doc.get(name) for name in ("ref", "before", "after")]
        if all(isinstance(part, str) and part for part in move):
            keys.append("push:" + "\0".join(str(part) for part in move))
        return tuple(keys)

    def _push(self, doc: dict[str, Any], delivery: str) -> Response:
        ref = doc.get("ref")
        if not isinstance(ref, str) or not ref:
            return _json(202, status="ignored", reason="no ref: not a push payload")
        if self._branch and ref != f"refs/heads/{self._branch}":
            return _json(202, status="ignored", reason=f"ref {ref[:200]}")
        log.info("webhook.push", delivery=delivery, ref=ref, after=str(doc.get("after", ""))[:64])
        self._trigger(delivery)
        return _json(202, status="queued")

    def _done(self, response: Response) -> Response:
        self._on_result(response.status)
        return response
