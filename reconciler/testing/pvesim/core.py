"""The simulator core: one lock around the state, auth, faults, dispatch and the request log."""

from __future__ import annotations

import copy
import gzip
import json
import math
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .auth import Authenticator
from .context import Ctx, Identity
from .endpoints import params_for
from .errors import ApiError, param_error
from .faults import FAULT_MESSAGES, FaultInjector, Faults, Gate
from .formats import check_format
from .routes import WORKERS, match
from .state import Cluster, save_file
from .tasks import advance
from .validate import validate

API = "/api2/json"
_SECRET_KEYS = ("password", "tfa-challenge", "otp")


@dataclass(frozen=True)
class RequestRecord:
    """One logged /api2/json request: path is relative to /api2/json."""

    method: str
    path: str
    params: dict[str, Any]
    status: int
    answer_lost: bool = False  # applied, but the client never got the answer (fault injection)


@dataclass(frozen=True)
class Answer:
    """An HTTP answer before encoding."""

    status: int
    reason: str
    body: Any
    raw: bytes | None = None
    gz: bytes | None = None
    drop: bool = False  # cut the connection instead of answering (fault injection)

    def gzipped(self) -> bytes:
        """The body gzip-compressed (precomputed for cached reads)."""
        return self.gz if self.gz is not None else gzip_body(encode(self))


class SimCore:
    """Everything except sockets: call `handle` from any thread."""

    def __init__(
        self,
        cluster: Cluster,
        auth: Authenticator,
        faults: Faults,
        version: str,
        task_seconds: float,
        state_file: Path | None,
    ) -> None:
        self._initial = copy.deepcopy(cluster)
        self.cluster = cluster
        self.auth = auth
        self.injector = FaultInjector(faults)
        self.gate = Gate()
        self.version = version
        self.task_seconds = task_seconds
        self.state_file = state_file
        self._lock = threading.RLock()
        # bounded so a long-running CLI simulator does not grow without limit
        self._log: deque[RequestRecord] = deque(maxlen=100_000)
        # read answers are cached per state generation and wall-clock second (uptime moves)
        self._gen = 0
        # earliest finish_at of a running task (0: unknown); reads skip the task scan before it
        self._due = 0.0
        self._cache: dict[tuple[Any, ...], Answer] = {}
        if state_file is not None:
            save_file(cluster, state_file)

    # -- request log -------------------------------------------------------------------
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log."""
        with self._lock:
            return list(self._log)

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self._lock:
            self._log.clear()

    def dump(self) -> dict[str, Any]:
        """The whole state as JSON-able data (tasks advanced first)."""
        with self._lock:
            if self._advance():
                self._changed()
            return self.cluster.to_json()

    def reset(self) -> None:
        """Back to the cluster the simulator started with; clears the request log."""
        with self._lock:
            self.cluster = copy.deepcopy(self._initial)
            self._log.clear()
            self._changed()

    # -- dispatch ----------------------------------------------------------------------
    def handle(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        from_json: bool,
        headers: Mapping[str, str],
    ) -> Answer:
        """Answer one /api2/json request (the caller strips nothing)."""
        api_path = path[len(API) :] or "/"
        if not self.gate.enter():  # held past the gate, then cut: nothing served, nothing logged
            return Answer(596, "Connection timed out", None, drop=True)
        try:
            body = self._dispatch(method, api_path, params, from_json, headers)
            answer = body if isinstance(body, Answer) else Answer(200, "OK", {"data": body})
        except ApiError as exc:
            answer = _error_answer(exc)
        lost = (
            answer.status == 200
            and api_path.rstrip("/") != "/access/ticket"
            and self.injector.lose_answer(method)
        )
        shown = {k: ("***" if k in _SECRET_KEYS else v) for k, v in params.items()}
        with self._lock:
            self._log.append(RequestRecord(method, api_path, shown, answer.status, lost))
        if lost:
            text = FAULT_MESSAGES[596]
            body = {"data": None, "message": text + "\n"}
            return Answer(596, text, body, drop=self.injector.faults.lost_answer_mode == "drop")
        return answer

    def _dispatch(
        self,
        method: str,
        api_path: str,
        params: dict[str, Any],
        from_json: bool,
        headers: Mapping[str, str],
    ) -> Any:
        if method == "POST" and api_path.rstrip("/") == "/access/ticket":
            checked = validate(
                params,
                params_for("POST /access/ticket", self.version),
                from_json=from_json,
                version=self.version,
            )
            return self.auth.login(checked)
        found = match(method, api_path)
        if found is None:
            raise ApiError(501, f"Method '{method} {api_path}' not implemented")
        route, path_vars = found
        identity = self.auth.identify(method, headers)
        draw = self.injector.draw(method)
        if draw.latency_s > 0:
            time.sleep(draw.latency_s)
        faults = self.injector.faults
        node = path_vars.get("node")
        if node is not None and (bad := check_format("pve-node", node)):
            raise param_error({"node": bad})  # PVE checks the format before any lookup
        if node is not None:
            with self._lock:
                known = node in self.cluster.nodes
            if not known:
                raise ApiError(
                    500,
                    f"hostname lookup '{node}' failed - failed to get address "
                    f"info for: {node}: Name or service not known",
                )
            if node in faults.offline_nodes:
                raise ApiError(595, "No route to host")
        if draw.error:
            raise ApiError(faults.status, FAULT_MESSAGES.get(faults.status, "simulated fault"))
        vmid = path_vars.get("vmid") or params.get("vmid")
        if draw.lock_timeout and method != "GET" and vmid is not None:
            raise ApiError(
                500, f"can't lock file '/run/lock/lxc/pve-config-{vmid}.lock' - got timeout"
            )
        merged = {**params, **path_vars}
        checked = validate(
            merged, params_for(route.key, self.version), from_json=from_json, version=self.version
        )
        with self._lock:
            now = time.time()
            if self._advance():
                self._changed()
            key = (route.key, tuple(sorted(checked.items())), faults, int(now))
            if method == "GET" and route.key in _CACHEABLE:
                cached = self._cache.get(key)
                if cached is not None:
                    return cached
            ctx = Ctx(
                self.cluster,
                identity,
                self.version,
                self.task_seconds,
                now,
                draw.task_failure and isinstance(_returns_task(route.key), str),
                WORKERS,
                frozenset(faults.offline_nodes),
            )
            try:
                result = route.handler(ctx, checked)
            finally:
                if method != "GET":
                    self._changed()
            if method == "GET" and route.key in _CACHEABLE:
                if len(self._cache) > 64:
                    self._cache.clear()
                data = encode(Answer(200, "OK", {"data": result}))
                self._cache[key] = Answer(200, "OK", None, data, gzip_body(data))
                return self._cache[key]
            return result

    def _advance(self) -> bool:
        now = time.time()
        if now < self._due:
            return False
        changed = advance(self.cluster, now, WORKERS)
        self._due = min(
            (t.finish_at for t in self.cluster.tasks.values() if t.status == "running"),
            default=math.inf,
        )
        return changed

    def _changed(self) -> None:
        self._due = 0.0  # a write may have started tasks: scan again on the next request
        self._gen += 1
        self._cache.clear()
        self._persist()

    def _persist(self) -> None:
        if self.state_file is not None:
            save_file(self.cluster, self.state_file)

    def identity_for(self, user: str) -> Identity:
        """Helper for tests that need a caller identity."""
        return Identity(user)


_CACHEABLE = frozenset({"GET /cluster/resources", "GET /nodes", "GET /nodes/{node}/lxc"})
_TASK_ROUTES = (
    "POST /nodes/{node}/lxc",
    "DELETE /nodes/{node}/lxc/{vmid}",
    "PUT /nodes/{node}/lxc/{vmid}/resize",
)


def _returns_task(route_key: str) -> str | None:
    """Routes whose answer is a UPID (they may get an injected task failure)."""
    if route_key in _TASK_ROUTES or ("/status/" in route_key and route_key.startswith("POST")):
        return route_key
    if "/snapshot" in route_key and not route_key.startswith("GET"):
        return route_key
    return None


def _error_answer(exc: ApiError) -> Answer:
    reason = exc.message.strip().split("\n", 1)[0]
    body: dict[str, Any] = {"data": None, "message": exc.message.rstrip("\n") + "\n"}
    if exc.errors:
        body["errors"] = exc.errors
    return Answer(exc.status, reason, body)


def encode(answer: Answer) -> bytes:
    """JSON body bytes."""
    if answer.raw is not None:
        return answer.raw
    return json.dumps(answer.body, separators=(",", ":")).encode("utf-8")


def gzip_body(data: bytes) -> bytes:
    """gzip as pveproxy sends it to clients that accept it; level 1: cheap, still ~10x on JSON."""
    return gzip.compress(data, compresslevel=1, mtime=0)
