"""Seeded fault injection: error answers, lock timeouts, task failures, latency, offline nodes,
writes applied whose answer is lost, and a gate that holds requests after the N-th."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

ALL_METHODS = ("GET", "POST", "PUT", "DELETE")
LOST_MODES = ("drop", "596")
FAULT_MESSAGES = {
    500: "simulated internal server error (pvesim)",
    595: "No route to host",
    596: "Connection timed out",
    597: "Connection refused",
    599: "Too many redirects",
}


@dataclass(frozen=True)
class Faults:
    """What to inject; rates are probabilities per eligible /api2/json request."""

    error_rate: float = 0.0
    status: int = 500
    lock_timeout_rate: float = 0.0
    task_failure_rate: float = 0.0
    latency_ms: float = 0.0
    offline_nodes: tuple[str, ...] = ()
    seed: int = 0
    methods: tuple[str, ...] = ALL_METHODS
    # a write PVE accepted (status 200) whose answer never reaches the client: the connection
    # is dropped (`drop`) or the answer is a 596 without the result (`596`)
    lost_answer_rate: float = 0.0
    lost_answer_mode: str = "drop"

    def __post_init__(self) -> None:
        if self.lost_answer_mode not in LOST_MODES:
            raise ValueError(f"lost_answer_mode must be one of {', '.join(LOST_MODES)}")

    def to_json(self) -> dict[str, Any]:
        """JSON form (used by /_sim/faults)."""
        doc = asdict(self)
        doc["offline_nodes"] = list(self.offline_nodes)
        doc["methods"] = list(self.methods)
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Faults:
        """Build from a JSON object; unknown keys are an error."""
        names = {f.name for f in fields(cls)}
        unknown = set(doc) - names
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        kw: dict[str, Any] = {}
        for key, value in doc.items():
            if key in ("offline_nodes", "methods"):
                items = value.split(",") if isinstance(value, str) else list(value)
                kw[key] = tuple(
                    str(x).upper() if key == "methods" else str(x) for x in items if str(x)
                )
            elif key in ("status", "seed"):
                kw[key] = int(value)
            elif key == "lost_answer_mode":
                kw[key] = str(value)
            else:
                kw[key] = float(value)
        return cls(**kw)


@dataclass(frozen=True)
class Draw:
    """The injector's decisions for one request."""

    error: bool = False
    lock_timeout: bool = False
    task_failure: bool = False
    latency_s: float = 0.0


class FaultInjector:
    """Draws reproducible decisions from a seeded RNG (three draws per eligible request); lost
    answers draw from their own stream, so adding them leaves a seed's other faults unchanged."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._faults = faults
        self._rng = random.Random(faults.seed)
        self._lost_rng = random.Random(f"lost-{faults.seed}")

    @property
    def faults(self) -> Faults:
        """Current settings."""
        return self._faults

    def set(self, faults: Faults) -> None:
        """Replace the settings and restart the random sequence from the new seed."""
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)
            self._lost_rng = random.Random(f"lost-{faults.seed}")

    def lose_answer(self, method: str) -> bool:
        """Whether the answer to this applied write is lost (one draw per applied write)."""
        with self._lock:
            f = self._faults
            if method == "GET" or method not in f.methods or f.lost_answer_rate <= 0:
                return False
            return self._lost_rng.random() < f.lost_answer_rate

    def draw(self, method: str) -> Draw:
        """Decide the faults for one /api2/json request."""
        with self._lock:
            f = self._faults
            if method not in f.methods:
                return Draw()
            r_err, r_lock, r_task = (self._rng.random() for _ in range(3))
            return Draw(
                r_err < f.error_rate,
                r_lock < f.lock_timeout_rate,
                r_task < f.task_failure_rate,
                f.latency_ms / 1000.0,
            )


class Gate:
    """Holds every /api2/json request after the first `after` (None: open); a held request waits
    until `release`, then is served (`drop=False`) or its connection cut unserved (`drop=True`)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._after: int | None = None
        self._seen = 0
        self._held = 0
        self._drop = False
        self._epoch = 0

    def close_after(self, count: int) -> None:
        """Let `count` more requests through, then hold the rest."""
        with self._cond:
            self._after, self._seen, self._drop = count, 0, False
            self._epoch += 1
            self._cond.notify_all()

    def release(self, drop: bool = False) -> None:
        """Open the gate; held requests are served, or cut unserved when `drop`."""
        with self._cond:
            self._after, self._drop = None, drop
            self._epoch += 1
            self._cond.notify_all()

    def status(self) -> dict[str, Any]:
        """JSON form (used by /_sim/gate)."""
        with self._cond:
            return {"after": self._after, "passed": self._seen, "held": self._held}

    def wait_held(self, count: int, timeout: float) -> bool:
        """Block until `count` requests are held (True) or `timeout` seconds pass (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._held >= count, timeout)

    def enter(self) -> bool:
        """Called per request before it is served; False: cut the connection, serve nothing."""
        with self._cond:
            if self._after is None:
                return True
            if self._seen < self._after:
                self._seen += 1
                return True
            epoch = self._epoch
            self._held += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._epoch != epoch)
            self._held -= 1
            return not self._drop
