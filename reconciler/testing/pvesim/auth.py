"""Authentication like pveproxy: API tokens, tickets from /access/ticket, CSRF on writes."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from .context import Identity
from .errors import ApiError


@dataclass
class Authenticator:
    """Holds the one configured token and the password; issues and checks tickets."""

    token_user: str
    token_name: str
    token_secret: str
    password: str
    _tickets: dict[str, tuple[str, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def login(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """POST /access/ticket: username (+realm) and password; 401 on a mismatch."""
        user = str(params["username"])
        if "@" not in user:
            user = f"{user}@{params.get('realm', 'pam')}"
        password = str(params["password"])
        with self._lock:
            # proxmoxer renews a ticket by sending the old one as the password
            renewal = self._tickets.get(password, ("", ""))[0] == user
        if user != "root@pam" or not (renewal or hmac.compare_digest(password, self.password)):
            raise ApiError(401, "authentication failure")
        stamp = f"{int(time.time()):08X}"
        ticket = f"PVE:{user}:{stamp}::{secrets.token_urlsafe(32)}"
        csrf = f"{stamp}:{secrets.token_urlsafe(20)}"
        with self._lock:
            self._tickets[ticket] = (user, csrf)
        return {
            "ticket": ticket,
            "CSRFPreventionToken": csrf,
            "username": user,
            "cap": {"vms": {}, "storage": {}, "nodes": {}, "access": {}, "dc": {}},
        }

    def identify(self, method: str, headers: Mapping[str, str]) -> Identity:
        """Who is calling, or 401 (no ticket, bad token, missing CSRF token on a write)."""
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        if auth.startswith("PVEAPIToken="):
            return self._token(auth[len("PVEAPIToken=") :])
        cookie = SimpleCookie()
        cookie.load(headers.get("Cookie") or headers.get("cookie") or "")
        morsel = cookie.get("PVEAuthCookie")
        if morsel is None:
            raise ApiError(401, "No ticket")
        with self._lock:
            entry = self._tickets.get(morsel.value)
        if entry is None:
            raise ApiError(401, "authentication failure")
        user, csrf = entry
        if method != "GET":
            given = headers.get("CSRFPreventionToken") or headers.get("csrfpreventiontoken")
            if not given or not hmac.compare_digest(given, csrf):
                raise ApiError(401, "Permission denied - invalid csrf token")
        return Identity(user)

    def _token(self, value: str) -> Identity:
        tokenid, sep, secret = value.partition("=")
        user, bang, name = tokenid.partition("!")
        if not sep or not bang:
            raise ApiError(401, "invalid token value!")
        ok = (
            user == self.token_user
            and name == self.token_name
            and hmac.compare_digest(secret, self.token_secret)
        )
        if not ok:
            raise ApiError(401, "authentication failure")
        return Identity(user, name)
