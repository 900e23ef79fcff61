"""Sub-keys of container list items (`network[N].gateway` -> `gw` in netN); pure.

Part of the container field registry (plan.container_fields): one row per sub-key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ItemField:
    """One sub-key of a list item (`network[N].gateway` -> `gw` in netN)."""

    path: str
    attr: str
    pve: str
    live: bool


NIC_FIELDS = (
    ItemField("name", "name", "name", True),
    ItemField("bridge", "bridge", "bridge", True),
    ItemField("ip", "ip", "ip", True),
    ItemField("gateway", "gateway", "gw", True),
    ItemField("ip6", "ip6", "ip6", True),
    ItemField("gateway6", "gateway6", "gw6", True),
    ItemField("firewall", "firewall", "firewall", True),
    ItemField("vlan", "vlan", "tag", True),
    ItemField("mtu", "mtu", "mtu", True),
    ItemField("rate", "rate", "rate", True),
    ItemField("hwaddr", "hwaddr", "hwaddr", True),
)
# storage/size/hostPath live in the `volume` part (size via /resize, storage never changes).
MOUNT_FIELDS = (
    ItemField("path", "path", "mp", False),
    ItemField("storage", "volume", "volume", False),
    ItemField("size", "volume", "size", False),
    ItemField("hostPath", "host_path", "volume", False),
    ItemField("backup", "backup", "backup", True),
    ItemField("readOnly", "read_only", "ro", False),
)
