"""Gitea push webhook: HMAC-SHA256 check, delivery de-duplication, size cap; only triggers."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import OrderedDict
from collections.abc import Callable

import structlog

from reconciler.daemon.http import Request, Response

log = structlog.get_logger("reconciler.daemon.webhook")

PATH = "/hooks/gitea"
MAX_BODY = 1024 * 1024


def signature(secret: bytes, body: bytes) -> str:
    """What Gitea sends in X-Gitea-Signature: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


class Deliveries:
    """A bounded LRU of delivery ids already acted on (Gitea retries and replays)."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._guard = threading.Lock()

    def first_time(self, delivery: str) -> bool:
        with self._guard:
            if delivery in self._seen:
                self._seen.move_to_end(delivery)
                return False
            self._seen[delivery] = None
            if len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return True


def _json(code: int, **doc: str) -> Response:
    return Response(code, json.dumps(doc).encode())


class GiteaWebhook:
    """POST /hooks/gitea -> `trigger(delivery)` when signed, new, and for our branch."""

    def __init__(
        self,
        secret: bytes,
        trigger: Callable[[str], None],
        branch: str | None = None,
        max_body: int = MAX_BODY,
        on_result: Callable[[int], None] | None = None,
    ) -> None:
        if not secret:
            raise ValueError("the webhook needs a non-empty shared secret")
        self._secret = secret
        self._trigger = trigger
        self._branch = branch
        self._max_body = max_body
        self._deliveries = Deliveries()
        self._on_result = on_result or (lambda status: None)

    def gate(self, request: Request) -> Response | None:
        """Refuse before reading the body: no length, or too large."""
        length = request.headers.get("Content-Length", "")
        if not length.isdigit():
            return self._done(_json(411, error="Content-Length required"))
        if int(length) > self._max_body:
            log.warning("webhook.too_large", bytes=int(length))
            return self._done(_json(413, error="payload too large"))
        return None

    def handle(self, request: Request) -> Response:
        given = request.headers.get("X-Gitea-Signature", "").strip().lower()
        expected = signature(self._secret, request.body)
        if not given or not hmac.compare_digest(expected, given):
            log.warning("webhook.bad_signature", present=bool(given))
            return self._done(_json(401, error="bad signature"))
        delivery = request.headers.get("X-Gitea-Delivery", "").strip()
        if delivery and not self._deliveries.first_time(delivery):
            log.info("webhook.duplicate", delivery=delivery)
            return self._done(_json(200, status="duplicate"))
        event = request.headers.get("X-Gitea-Event", "push")
        if event != "push":
            return self._done(_json(202, status="ignored", reason=f"event {event}"))
        ref = self._ref(request.body)
        if self._branch and ref and ref != f"refs/heads/{self._branch}":
            return self._done(_json(202, status="ignored", reason=f"ref {ref}"))
        log.info("webhook.push", delivery=delivery, ref=ref)
        self._trigger(delivery)
        return self._done(_json(202, status="queued"))

    def _done(self, response: Response) -> Response:
        self._on_result(response.status)
        return response

    @staticmethod
    def _ref(body: bytes) -> str:
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            return ""
        ref = doc.get("ref") if isinstance(doc, dict) else None
        return ref if isinstance(ref, str) else ""
