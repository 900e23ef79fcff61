"""Seeded fault injection: error answers, lock timeouts, task failures, latency, offline nodes."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

ALL_METHODS = ("GET", "POST", "PUT", "DELETE")
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
    """Draws reproducible decisions from a seeded RNG (three draws per eligible request)."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._faults = faults
        self._rng = random.Random(faults.seed)

    @property
    def faults(self) -> Faults:
        """Current settings."""
        return self._faults

    def set(self, faults: Faults) -> None:
        """Replace the settings and restart the random sequence from the new seed."""
        with self._lock:
            self._faults = faults
            self._rng = random.Random(faults.seed)

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
