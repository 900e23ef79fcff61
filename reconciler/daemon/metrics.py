"""Prometheus text exposition of the daemon's cycles, drift and revision (hand-written format)."""

from __future__ import annotations

import threading
from collections.abc import Mapping

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
RESULTS = ("success", "failed", "rejected")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs: Mapping[str, str]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in sorted(pairs.items())) + "}"


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


class Metrics:
    """The daemon's counters and gauges; one instance per daemon, guarded by a lock."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._cycles = {result: 0 for result in RESULTS}
        self._duration_sum = 0.0
        self._duration_count = 0
        self._last_duration = 0.0
        self._last_success = 0.0
        self._last_cycle = 0.0
        self._drift: dict[str, int] = {}
        self._revision = ""
        self._rejected = ""
        self._next_run = 0.0
        self._webhooks: dict[str, int] = {}

    def cycle(self, result: str, seconds: float, finished_at: float) -> None:
        with self._guard:
            self._cycles[result] = self._cycles.get(result, 0) + 1
            self._duration_sum += seconds
            self._duration_count += 1
            self._last_duration = seconds
            self._last_cycle = finished_at
            if result == "success":
                self._last_success = finished_at

    def revisions(self, in_force: str | None, rejected: str | None) -> None:
        with self._guard:
            self._revision = in_force or ""
            self._rejected = rejected or ""

    def drift(self, by_kind: Mapping[str, int]) -> None:
        with self._guard:
            self._drift = {kind: 0 for kind in self._drift} | dict(by_kind)

    def next_run(self, at: float) -> None:
        with self._guard:
            self._next_run = at

    def webhook(self, status: int) -> None:
        with self._guard:
            key = str(status)
            self._webhooks[key] = self._webhooks.get(key, 0) + 1

    def render(self) -> str:
        with self._guard:
            out: list[str] = []

            def family(
                name: str,
                kind: str,
                help_text: str,
                samples: list[tuple[dict[str, str], float]],
                suffix: str = "",
            ) -> None:
                out.append(f"# HELP {name} {help_text}")
                out.append(f"# TYPE {name} {kind}")
                for labels, value in samples:
                    out.append(f"{name}{suffix}{_labels(labels)} {_number(value)}")

            family(
                "reconciler_cycles",
                "counter",
                "Reconcile cycles by result.",
                [({"result": r}, float(n)) for r, n in sorted(self._cycles.items())],
                "_total",
            )
            out.append("# HELP reconciler_cycle_duration_seconds Duration of reconcile cycles.")
            out.append("# TYPE reconciler_cycle_duration_seconds summary")
            out.append(f"reconciler_cycle_duration_seconds_sum {_number(self._duration_sum)}")
            out.append(f"reconciler_cycle_duration_seconds_count {self._duration_count}")
            family(
                "reconciler_last_cycle_duration_seconds",
                "gauge",
                "Duration of the last cycle.",
                [({}, self._last_duration)],
            )
            family(
                "reconciler_last_cycle_timestamp_seconds",
                "gauge",
                "When the last cycle finished (unix time).",
                [({}, self._last_cycle)],
            )
            family(
                "reconciler_last_success_timestamp_seconds",
                "gauge",
                "When the last successful cycle finished (unix time).",
                [({}, self._last_success)],
            )
            family(
                "reconciler_drifted_resources",
                "gauge",
                "Resources differing from the specs at the last plan, by kind.",
                [({"kind": k}, float(v)) for k, v in sorted(self._drift.items())],
            )
            family(
                "reconciler_revision_info",
                "gauge",
                "The spec revision in force.",
                [({"revision": self._revision}, 1.0)] if self._revision else [],
            )
            family(
                "reconciler_specs_rejected",
                "gauge",
                "1 while the newest revision is rejected as invalid.",
                [({"revision": self._rejected}, 1.0)] if self._rejected else [({}, 0.0)],
            )
            family(
                "reconciler_next_run_timestamp_seconds",
                "gauge",
                "When the next scheduled cycle runs (unix time).",
                [({}, self._next_run)],
            )
            family(
                "reconciler_webhook_requests",
                "counter",
                "Webhook requests by HTTP status.",
                [({"code": c}, float(n)) for c, n in sorted(self._webhooks.items())],
                "_total",
            )
            return "\n".join(out) + "\n"
