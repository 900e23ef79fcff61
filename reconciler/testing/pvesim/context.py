"""Per-request context handed to handlers: the cluster, the caller, version, clock, faults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .state import Cluster, Task

Worker = Callable[[Cluster, Task], list[str]]


@dataclass(frozen=True)
class Identity:
    """Who is calling: a ticket user (`root@pam`) or an API token (`root@pam` + `reconciler`)."""

    user: str
    token: str | None = None

    @property
    def userid(self) -> str:
        """`root@pam!reconciler` for tokens, `root@pam` for tickets (as in UPIDs)."""
        return f"{self.user}!{self.token}" if self.token else self.user

    @property
    def is_root(self) -> bool:
        """PVE's root@pam-only checks: a token of root@pam does not count."""
        return self.user == "root@pam" and self.token is None


@dataclass(frozen=True)
class Ctx:
    """What a handler may use; handlers run with the state lock held."""

    cluster: Cluster
    identity: Identity
    version: str
    task_seconds: float
    now: float
    fail_task: bool
    workers: Mapping[str, Worker]
    offline: frozenset[str] = frozenset()

    def node_names(self) -> list[str]:
        """Cluster members in a stable order."""
        return sorted(self.cluster.nodes)


Params = dict[str, Any]
