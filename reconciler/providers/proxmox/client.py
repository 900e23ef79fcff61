"""The one place that builds a proxmoxer client; a thin wrapper that counts calls and maps errors.

Never logs the token secret; never sends a Python bool (PVE wants 1/0).
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Mapping
from typing import Any

import requests
import structlog
from proxmoxer import ProxmoxAPI
from proxmoxer.core import AuthenticationError, ResourceException

from reconciler.providers.proxmox.errors import (
    PvePermanentError,
    PveTransientError,
    classify_http,
)
from reconciler.settings import ProxmoxSettings

log = structlog.get_logger(__name__)


class PveConfigError(ValueError):
    """The client cannot be built from the settings (e.g. the secret's env var is unset)."""


class PveClient:
    """Path-based calls (`nodes/pve/lxc/100/config`) on a proxmoxer API object.

    `calls` counts every request sent, so tests and benchmarks can assert
    calls-per-plan. Thread-safe: the reader issues config reads in parallel.
    """

    def __init__(self, api: Any, *, default_node: str = "pve") -> None:
        self._api = api
        self.default_node = default_node
        self._calls = 0
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        with self._lock:
            return self._calls

    def reset_calls(self) -> None:
        with self._lock:
            self._calls = 0

    def get(self, path: str, **params: object) -> Any:
        return self._request("GET", path, params)

    def post(self, path: str, **params: object) -> Any:
        return self._request("POST", path, params)

    def put(self, path: str, **params: object) -> Any:
        return self._request("PUT", path, params)

    def delete(self, path: str, **params: object) -> Any:
        return self._request("DELETE", path, params)

    def _request(self, method: str, path: str, params: Mapping[str, object]) -> Any:
        clean = {key: _wire(value) for key, value in params.items() if value is not None}
        with self._lock:
            self._calls += 1
        log.debug("pve.call", method=method, path=path, keys=sorted(clean))
        resource = self._api(path)
        try:
            if method == "GET":
                return resource.get(**clean)
            if method == "POST":
                return resource.post(**clean)
            if method == "PUT":
                return resource.put(**clean)
            return resource.delete(**clean)
        except ResourceException as exc:
            raise classify_http(int(exc.status_code), _message(exc)) from exc
        except AuthenticationError as exc:
            raise PvePermanentError(f"PVE authentication failed: {exc}", 401) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise PveTransientError(f"PVE unreachable ({method} {path}): {exc}") from exc
        except subprocess.TimeoutExpired as exc:  # local backend (pvesh) ran out of time
            raise PveTransientError(f"pvesh timed out ({method} {path})") from exc


def _wire(value: object) -> object:
    if isinstance(value, bool):
        return 1 if value else 0
    return value


def _message(exc: ResourceException) -> str:
    """PVE's message line (the reason phrase) plus the per-parameter errors, if any."""
    message = str(exc.content or exc.status_message or "").strip()
    if exc.errors:
        message += f" - {exc.errors}"
    return message


def build_client(
    settings: ProxmoxSettings, env: Mapping[str, str] | None = None, *, task_timeout: float = 600.0
) -> PveClient:
    """ProxmoxSettings + the token secret from `env[token_secret_env]` -> PveClient.

    `backend: local` talks to pvesh on the host as root (no token, no network). pvesh runs a
    worker in the foreground, so one call lasts as long as its task: its timeout is at least
    `task_timeout` (proxmoxer's `communicate(timeout=5)` default would cut a create short).
    """
    if settings.backend == "local":
        timeout = max(settings.timeout, task_timeout)
        api = ProxmoxAPI(backend="local", service="PVE", timeout=timeout)
        return PveClient(api, default_node=settings.node)
    if settings.backend != "https":
        raise PveConfigError(
            f"proxmox.backend must be 'https' or 'local', not {settings.backend!r}"
        )
    source = os.environ if env is None else env
    secret = source.get(settings.token_secret_env)
    if not secret:
        raise PveConfigError(
            f"environment variable {settings.token_secret_env} is not set: it must hold the "
            f"secret of API token {settings.user}!{settings.token_name} "
            "(proxmox.token_secret_env in reconciler.yaml)"
        )
    api = ProxmoxAPI(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        token_name=settings.token_name,
        token_value=secret,
        verify_ssl=settings.verify_ssl,
        timeout=settings.timeout,  # proxmoxer's 5 s default is too short for disk allocation
        backend="https",
        service="PVE",
    )
    log.info(
        "pve.client",
        host=settings.host,
        port=settings.port,
        user=settings.user,
        token=settings.token_name,
        verify_ssl=bool(settings.verify_ssl),
    )
    return PveClient(api, default_node=settings.node)
