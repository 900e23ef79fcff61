"""The simulated cluster's state (nodes, storages, volumes, guests, tasks) and its JSON form."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FORMAT = "pvesim-state/1"
GIB = 1024**3
DEFAULT_TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


@dataclass
class Node:
    """A cluster member."""

    node: str
    maxcpu: int = 8
    maxmem: int = 64 * GIB
    maxdisk: int = 100 * GIB
    bridges: list[str] = field(default_factory=lambda: ["vmbr0"])


@dataclass
class Storage:
    """A storage definition (shared by all nodes unless `nodes` is set)."""

    storage: str
    type: str
    content: list[str]
    total: int = 500 * GIB
    shared: int = 0
    enabled: int = 1
    nodes: list[str] = field(default_factory=list)


@dataclass
class Volume:
    """One volume on a storage (templates, CT disks)."""

    volid: str
    content: str
    size: int
    format: str
    vmid: int | None = None
    ctime: int = 0


@dataclass
class Guest:
    """A container (or a placeholder qemu VM that only occupies its vmid)."""

    vmid: int
    node: str
    kind: str = "lxc"
    config: dict[str, Any] = field(default_factory=dict)
    pending: dict[str, Any] = field(default_factory=dict)
    pending_delete: list[str] = field(default_factory=list)
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: str = "stopped"
    started_at: float | None = None


@dataclass
class Task:
    """A simulated worker: its UPID, timing, outcome, log and what to do on completion."""

    upid: str
    node: str
    type: str
    id: str
    user: str
    starttime: int
    pid: int
    pstart: int
    action: str
    args: dict[str, Any]
    finish_at: float
    status: str = "running"
    exitstatus: str | None = None
    log: list[str] = field(default_factory=list)


@dataclass
class Cluster:
    """Everything the simulator knows; guarded by the server's single state lock."""

    nodes: dict[str, Node] = field(default_factory=dict)
    storages: dict[str, Storage] = field(default_factory=dict)
    volumes: dict[str, Volume] = field(default_factory=dict)
    guests: dict[int, Guest] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    next_pid: int = 4000

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dump of the whole cluster."""
        return {
            "format": STATE_FORMAT,
            "nodes": [asdict(x) for x in self.nodes.values()],
            "storages": [asdict(x) for x in self.storages.values()],
            "volumes": [asdict(x) for x in self.volumes.values()],
            "guests": [asdict(x) for x in self.guests.values()],
            "tasks": [asdict(x) for x in self.tasks.values()],
            "next_pid": self.next_pid,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Cluster:
        """Rebuild a cluster from `to_json` output."""
        return cls(
            nodes={x["node"]: Node(**x) for x in doc.get("nodes", [])},
            storages={x["storage"]: Storage(**x) for x in doc.get("storages", [])},
            volumes={x["volid"]: Volume(**x) for x in doc.get("volumes", [])},
            guests={int(x["vmid"]): Guest(**x) for x in doc.get("guests", [])},
            tasks={x["upid"]: Task(**x) for x in doc.get("tasks", [])},
            next_pid=int(doc.get("next_pid", 4000)),
        )


def default_cluster() -> Cluster:
    """Node `pve`, storages `local` and `local-lvm`, bridge `vmbr0`, one Debian 12 template."""
    return build_cluster({})


def build_cluster(seed: dict[str, Any]) -> Cluster:
    """Build a cluster from a seed document (simple form) or a full state dump."""
    if seed.get("format") == STATE_FORMAT:
        return Cluster.from_json(seed)
    cl = Cluster()
    bridges = [str(b) for b in seed.get("bridges", ["vmbr0"])]
    for item in seed.get("nodes", [{"node": "pve"}]):
        spec: dict[str, Any] = dict(item) if isinstance(item, dict) else {"node": str(item)}
        spec.setdefault("bridges", list(bridges))
        node = Node(**spec)
        cl.nodes[node.node] = node
    default_storages: list[dict[str, Any]] = [
        {"storage": "local", "type": "dir", "content": ["vztmpl", "iso", "backup"]},
        {"storage": "local-lvm", "type": "lvmthin", "content": ["rootdir", "images"]},
    ]
    for item in seed.get("storages", default_storages):
        st = Storage(**item)
        cl.storages[st.storage] = st
    for volid in seed.get("templates", [DEFAULT_TEMPLATE]):
        fmt = "tzst" if volid.endswith(".tar.zst") else "tgz"
        cl.volumes[volid] = Volume(volid, "vztmpl", 129 * 1024 * 1024, fmt, None, 1_700_000_000)
    for item in seed.get("guests", []):
        add_seed_guest(cl, item)
    return cl


def add_seed_guest(cl: Cluster, item: dict[str, Any]) -> None:
    """Register a seeded guest and the volumes its config refers to."""
    from .volumes import register_config_volumes  # volumes imports state: break the cycle

    node = str(item.get("node", next(iter(cl.nodes))))
    guest = Guest(
        vmid=int(item["vmid"]),
        node=node,
        kind=str(item.get("kind", item.get("type", "lxc"))),
        config=dict(item.get("config", {})),
        status=str(item.get("status", "stopped")),
    )
    if guest.status == "running":
        guest.started_at = 0.0
    cl.guests[guest.vmid] = guest
    if guest.kind == "lxc":
        register_config_volumes(cl, guest)


def load_file(path: Path) -> dict[str, Any]:
    """Read a seed or state JSON document."""
    with path.open(encoding="utf-8") as fh:
        doc = json.load(fh)
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return doc


def save_file(cl: Cluster, path: Path) -> None:
    """Write the state atomically (temp file + rename) so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".pvesim-", dir=str(path.parent))
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(cl.to_json(), fh, indent=1, sort_keys=True)
    os.replace(tmp, path)
