"""The daemon's cycles, previews, drift and revision as Prometheus metrics (text format).

One private registry per daemon (no process-global state); the values live here, under a
lock, and are turned into metric families only when `/metrics` is scraped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text format generate_latest writes
RESULTS = ("success", "failed", "rejected")
# Plan previews: planned (status success), invalid (failure), failed (error: no plan, an
# incomplete plan, or a crash); superseded/dropped heads were never planned.
PREVIEW_RESULTS = ("planned", "invalid", "failed", "superseded", "dropped")


class Metrics:
    """The daemon's counters and gauges; one instance per daemon, guarded by a lock."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._cycles = dict.fromkeys(RESULTS, 0)
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
        self._rejections: dict[str, int] = {}
        self._previews = dict.fromkeys(PREVIEW_RESULTS, 0)
        self._preview_sum = 0.0
        self._preview_count = 0
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(self)

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
            self._drift = dict.fromkeys(self._drift, 0) | dict(by_kind)

    def next_run(self, at: float) -> None:
        with self._guard:
            self._next_run = at

    def webhook(self, status: int) -> None:
        with self._guard:
            key = str(status)
            self._webhooks[key] = self._webhooks.get(key, 0) + 1

    def rejected(self, reason: str) -> None:
        """An HTTP request refused (malformed header, rate limit, replay...), by reason."""
        with self._guard:
            self._rejections[reason] = self._rejections.get(reason, 0) + 1

    def preview(self, result: str, seconds: float | None = None) -> None:
        """A pull-request head previewed (with its duration) or never planned (without)."""
        with self._guard:
            self._previews[result] = self._previews.get(result, 0) + 1
            if seconds is not None:
                self._preview_sum += seconds
                self._preview_count += 1

    def register(self, collector: Any) -> None:
        """Another collector served on the same `/metrics` (daemon.table_metrics)."""
        self._registry.register(collector)

    def render(self) -> str:
        """The text exposition of every metric, as `/metrics` serves it."""
        return generate_latest(self._registry).decode("utf-8")

    def collect(self) -> Iterator[Metric]:
        """prometheus_client's collector protocol: a consistent snapshot under the lock."""
        with self._guard:
            cycles = CounterMetricFamily(
                "reconciler_cycles", "Reconcile cycles by result.", labels=["result"]
            )
            for result, count in sorted(self._cycles.items()):
                cycles.add_metric([result], count)
            yield cycles
            yield SummaryMetricFamily(
                "reconciler_cycle_duration_seconds",
                "Duration of reconcile cycles.",
                count_value=self._duration_count,
                sum_value=self._duration_sum,
            )
            yield from (
                GaugeMetricFamily(name, text, value=value)
                for name, text, value in (
                    (
                        "reconciler_last_cycle_duration_seconds",
                        "Duration of the last cycle.",
                        self._last_duration,
                    ),
                    (
                        "reconciler_last_cycle_timestamp_seconds",
                        "When the last cycle finished (unix time).",
                        self._last_cycle,
                    ),
                    (
                        "reconciler_last_success_timestamp_seconds",
                        "When the last successful cycle finished (unix time).",
                        self._last_success,
                    ),
                    (
                        "reconciler_next_run_timestamp_seconds",
                        "When the next scheduled cycle runs (unix time).",
                        self._next_run,
                    ),
                )
            )
            yield self._labelled_gauge(
                "reconciler_drifted_resources",
                "Resources differing from the specs at the last plan, by kind.",
                "kind",
                {kind: float(n) for kind, n in self._drift.items()},
            )
            yield self._labelled_gauge(
                "reconciler_revision_info",
                "The spec revision in force.",
                "revision",
                {self._revision: 1.0} if self._revision else {},
            )
            rejected = GaugeMetricFamily(
                "reconciler_specs_rejected",
                "1 while the newest revision is rejected as invalid.",
                labels=["revision"] if self._rejected else None,
                value=None if self._rejected else 0.0,
            )
            if self._rejected:
                rejected.add_metric([self._rejected], 1.0)
            yield rejected
            webhooks = CounterMetricFamily(
                "reconciler_webhook_requests", "Webhook requests by HTTP status.", labels=["code"]
            )
            for code, count in sorted(self._webhooks.items()):
                webhooks.add_metric([code], count)
            yield webhooks
            rejections = CounterMetricFamily(
                "reconciler_http_rejected_requests",
                "HTTP requests refused by the daemon's endpoints, by reason.",
                labels=["reason"],
            )
            for reason, count in sorted(self._rejections.items()):
                rejections.add_metric([reason], count)
            yield rejections
            previews = CounterMetricFamily(
                "reconciler_previews",
                "Pull-request heads planned or never planned, by result.",
                labels=["result"],
            )
            for result, count in sorted(self._previews.items()):
                previews.add_metric([result], count)
            yield previews
            yield SummaryMetricFamily(
                "reconciler_preview_duration_seconds",
                "Duration of plan previews (fetch, plan, comment and status).",
                count_value=self._preview_count,
                sum_value=self._preview_sum,
            )

    @staticmethod
    def _labelled_gauge(
        name: str, text: str, label: str, values: Mapping[str, float]
    ) -> GaugeMetricFamily:
        family = GaugeMetricFamily(name, text, labels=[label])
        for key, value in sorted(values.items()):
            family.add_metric([key], value)
        return family
