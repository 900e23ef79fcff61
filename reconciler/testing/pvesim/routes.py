"""The route table (method + path pattern -> handler) and the worker table; no I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

from . import h_cluster, h_config, h_lxc, h_snapshot
from .context import Ctx, Params, Worker

Handler = Callable[[Ctx, Params], Any]
_CT = "/nodes/{node}/lxc/{vmid}"


@dataclass(frozen=True)
class Route:
    """One API method: its key (`GET /nodes/{node}/lxc`), handler and segments."""

    method: str
    pattern: str
    handler: Handler

    @cached_property
    def key(self) -> str:
        """Route key used by the parameter tables."""
        return f"{self.method} {self.pattern}"

    @cached_property
    def segments(self) -> tuple[str, ...]:
        """Pattern split on `/`."""
        return tuple(self.pattern.strip("/").split("/"))


ROUTES: tuple[Route, ...] = (
    Route("GET", "/version", h_cluster.version),
    Route("GET", "/cluster/resources", h_cluster.resources),
    Route("GET", "/cluster/nextid", h_cluster.nextid),
    Route("GET", "/nodes", h_cluster.nodes),
    Route("GET", "/nodes/{node}", h_cluster.node_index),
    Route("GET", "/nodes/{node}/lxc", h_lxc.list_lxc),
    Route("POST", "/nodes/{node}/lxc", h_lxc.create),
    Route("GET", _CT, h_lxc.ct_index),
    Route("DELETE", _CT, h_lxc.destroy),
    Route("GET", f"{_CT}/config", h_config.get_config),
    Route("PUT", f"{_CT}/config", h_config.put_config),
    Route("GET", f"{_CT}/pending", h_config.get_pending),
    Route("GET", f"{_CT}/status", h_lxc.status_index),
    Route("GET", f"{_CT}/status/current", h_lxc.status),
    Route("POST", f"{_CT}/status/start", h_lxc.start),
    Route("POST", f"{_CT}/status/stop", h_lxc.stop),
    Route("POST", f"{_CT}/status/shutdown", h_lxc.shutdown),
    Route("POST", f"{_CT}/status/reboot", h_lxc.reboot),
    Route("PUT", f"{_CT}/resize", h_config.resize),
    Route("GET", f"{_CT}/snapshot", h_snapshot.list_snapshots),
    Route("POST", f"{_CT}/snapshot", h_snapshot.create_snapshot),
    Route("GET", f"{_CT}/snapshot/{{snapname}}", h_snapshot.snapshot_index),
    Route("DELETE", f"{_CT}/snapshot/{{snapname}}", h_snapshot.delete_snapshot),
    Route("POST", f"{_CT}/snapshot/{{snapname}}/rollback", h_snapshot.rollback),
    Route("GET", f"{_CT}/snapshot/{{snapname}}/config", h_snapshot.snapshot_config),
    Route("GET", "/nodes/{node}/tasks/{upid}/status", h_cluster.task_status),
    Route("GET", "/nodes/{node}/tasks/{upid}/log", h_cluster.task_log),
    Route("GET", "/nodes/{node}/storage", h_cluster.storage_list),
    Route("GET", "/nodes/{node}/storage/{storage}/content", h_cluster.storage_content),
)

WORKERS: Mapping[str, Worker] = MappingProxyType(
    {
        "create": h_lxc.w_create,
        "destroy": h_lxc.w_destroy,
        "start": h_lxc.w_start,
        "stop": h_lxc.w_stop,
        "shutdown": h_lxc.w_stop,
        "reboot": h_lxc.w_reboot,
        "resize": h_config.w_resize,
        "snapshot": h_snapshot.w_snapshot,
        "delsnapshot": h_snapshot.w_delsnapshot,
        "rollback": h_snapshot.w_rollback,
    }
)


def split_path(path: str) -> tuple[str, ...]:
    """Path segments, each percent-decoded (UPIDs may come raw or encoded)."""
    return tuple(unquote(part) for part in path.strip("/").split("/") if part)


def _index() -> Mapping[tuple[str, int], tuple[Route, ...]]:
    table: dict[tuple[str, int], tuple[Route, ...]] = {}
    for route in ROUTES:
        slot = (route.method, len(route.segments))
        table[slot] = (*table.get(slot, ()), route)
    return MappingProxyType(table)


# candidates by (method, segment count), in table order, so a lookup scans a handful
_BY_SHAPE = _index()


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """Find the route for a request; None means PVE's 501."""
    parts = split_path(path)
    for route in _BY_SHAPE.get((method, len(parts)), ()):
        found: dict[str, str] = {}
        for pat, part in zip(route.segments, parts, strict=True):
            if pat.startswith("{"):
                found[pat[1:-1]] = part
            elif pat != part:
                break
        else:
            return route, found
    return None
