"""The daemon's side services: webhook and metrics listeners, the local-dir watcher."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from reconciler.daemon.http import Listener, Request, Response, Route
from reconciler.daemon.metrics import CONTENT_TYPE
from reconciler.daemon.webhook import PATH, GiteaWebhook

if TYPE_CHECKING:
    from reconciler.daemon.http import Gate
    from reconciler.daemon.loop import Daemon
    from reconciler.daemon.previews import Previews
    from reconciler.sources.watch import DirWatcher

log = structlog.get_logger("reconciler.daemon")


class Services:
    """Started before the first cycle, closed after the last; errors at start are fatal."""

    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon
        self._listeners: list[Listener] = []
        self._watcher: DirWatcher | None = None
        self._previews: Previews | None = None
        self.webhook_address: str | None = None
        self.metrics_address: str | None = None

    def _webhook(self) -> GiteaWebhook:
        cfg = self._daemon.settings.daemon
        name = cfg.webhook_secret_env or ""
        secret = self._daemon.env.get(name, "") if name else ""
        if not secret:
            raise ValueError(f"daemon.webhook needs a secret: set secret_env and ${name or '...'}")
        git = self._daemon.settings.git
        hook = GiteaWebhook(
            secret.encode(),
            trigger=lambda delivery: self._daemon.request("webhook"),
            branch=git.branch if git is not None else None,
            on_result=self._daemon.metrics.webhook,
            rate_limit=cfg.webhook_rate_limit,
        )
        if cfg.previews:  # plan previews on pull requests, on their own worker thread
            from reconciler.daemon.previews import make_previews

            daemon = self._daemon
            self._previews = make_previews(daemon.settings, daemon.env, daemon.metrics)
            if self._previews is not None:
                hook.events["pull_request"] = self._previews.handle
        return hook

    def start(self) -> Services:
        cfg = self._daemon.settings.daemon
        routes: dict[str, dict[tuple[str, str], tuple[Gate | None, Route]]] = {}
        if cfg.webhook_listen:
            hook = self._webhook()
            routes.setdefault(cfg.webhook_listen, {})[("POST", PATH)] = (hook.gate, hook.handle)
        if cfg.metrics_listen:

            def metrics(request: Request) -> Response:
                return Response(200, self._daemon.metrics.render().encode(), CONTENT_TYPE)

            routes.setdefault(cfg.metrics_listen, {})[("GET", "/metrics")] = (None, metrics)
        try:
            for listen, table in routes.items():
                listener = Listener(listen, table, self._daemon.metrics.rejected).start()
                self._listeners.append(listener)
                if ("POST", PATH) in table:
                    self.webhook_address = listener.address
                if ("GET", "/metrics") in table:
                    self.metrics_address = listener.address
            if self._daemon.source.kind == "dir":
                from reconciler.sources.watch import DirWatcher

                self._watcher = DirWatcher(
                    self._daemon.settings.specs, lambda: self._daemon.request("watch")
                )
                self._watcher.start()
        except Exception:
            self.close()
            raise
        self._daemon.store.put(
            webhook_address=self.webhook_address, metrics_address=self.metrics_address
        )
        return self

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        for listener in self._listeners:
            listener.close()
        self._listeners.clear()
        if self._previews is not None:  # after the listener: no event arrives any more
            self._previews.close()
            self._previews = None
