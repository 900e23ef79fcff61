"""Container operations carried by plan lines (SDK-neutral, produced by the differ); pure.

Values are PVE-level: config keys (`memory`, `net0`, `mp1`) and values already encoded
as PVE takes them (1/0 flags, property strings); the applier only sends them. The
config operations of one line (SetConfig, UpdateItem, AttachMount, DetachMount) go
out as one digest-guarded PUT /config.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from reconciler.plan.change import JSONValue, Operation

PveValue = str | int
Pairs = tuple[tuple[str, PveValue], ...]
PowerAction = Literal["start", "stop", "reboot"]
_POWER = ("start", "stop", "reboot")


@dataclass(frozen=True)
class SetConfig:
    """Set top-level config keys (`values`) and remove others (`delete`)."""

    values: Pairs = ()
    delete: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, JSONValue]:
        return {"op": "set_config", "values": dict(self.values), "delete": list(self.delete)}


@dataclass(frozen=True)
class UpdateItem:
    """Change sub-keys of an existing `netN`/`mpN`; PVE's other sub-keys (its volume,
    size, hwaddr, acl, trunks...) stay as they are."""

    key: str
    set: Pairs = ()
    unset: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "op": "update_item",
            "key": self.key,
            "set": dict(self.set),
            "unset": list(self.unset),
        }


@dataclass(frozen=True)
class AttachMount:
    """Add mount point `key` (`mp1`): `value` allocates a volume (`storage:GiB,...`) or
    binds a host path."""

    key: str
    value: str

    def to_dict(self) -> dict[str, JSONValue]:
        return {"op": "attach_mount", "key": self.key, "value": self.value}


@dataclass(frozen=True)
class DetachMount:
    """Remove mount point `key`; PVE keeps a volume as `unusedN` (never destroyed)."""

    key: str

    def to_dict(self) -> dict[str, JSONValue]:
        return {"op": "detach_mount", "key": self.key}


@dataclass(frozen=True)
class ResizeDisk:
    """Grow `disk` (`rootfs`, `mp2`) to `size_bytes`; never shrinks."""

    disk: str
    size_bytes: int

    def to_dict(self) -> dict[str, JSONValue]:
        return {"op": "resize_disk", "disk": self.disk, "size_bytes": self.size_bytes}


@dataclass(frozen=True)
class Power:
    """start, stop (clean shutdown, forced after a timeout) or reboot the CT."""

    action: PowerAction

    def to_dict(self) -> dict[str, JSONValue]:
        return {"op": "power", "action": self.action}


@dataclass(frozen=True)
class Create:
    """POST /nodes/{node}/lxc with `params` (their tags carry the create-pending tag),
    then write `tags` (clearing it) and start the CT when `start`."""

    vmid: int
    params: Pairs
    tags: str
    start: bool

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "op": "create_ct",
            "vmid": self.vmid,
            "params": dict(self.params),
            "tags": self.tags,
            "start": self.start,
        }


@dataclass(frozen=True)
class Delete:
    """Stop (if running) and destroy the CT with its volumes; only one carrying our tag."""

    vmid: int

    def to_dict(self) -> dict[str, JSONValue]:
        return {"op": "delete_ct", "vmid": self.vmid}


@dataclass(frozen=True)
class AddTags:
    """Add `add` to the CT's own tag list (its spelling kept) when it is `expect`
    (normalised); `reconcile adopt` writes the ownership tag with it."""

    add: tuple[str, ...]
    expect: tuple[str, ...]

    def to_dict(self) -> dict[str, JSONValue]:
        return {"op": "add_tags", "add": list(self.add), "expect": list(self.expect)}


CONFIG_OPS = (SetConfig, UpdateItem, AttachMount, DetachMount)


def _pairs(doc: object, name: str) -> Pairs:
    if not isinstance(doc, dict):
        raise TypeError(f"{name} is not an object")
    out: list[tuple[str, PveValue]] = []
    for key, value in doc.items():
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise TypeError(f"{name}.{key} is not a string or an integer")
        out.append((str(key), value))
    return tuple(out)


def _strs(doc: object, name: str) -> tuple[str, ...]:
    if not isinstance(doc, list) or not all(isinstance(x, str) for x in doc):
        raise TypeError(f"{name} is not a list of strings")
    return tuple(cast(list[str], doc))


def _str(doc: Mapping[str, Any], name: str) -> str:
    value = doc[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} is not a string")
    return value


def _int(doc: Mapping[str, Any], name: str) -> int:
    value = doc[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} is not an integer")
    return value


def _power(doc: Mapping[str, Any]) -> Power:
    action = _str(doc, "action")
    if action not in _POWER:
        raise ValueError(f"action {action!r} is not one of {', '.join(_POWER)}")
    return Power(cast(PowerAction, action))


def _create(doc: Mapping[str, Any]) -> Create:
    start = doc["start"]
    if not isinstance(start, bool):
        raise TypeError("start is not a boolean")
    return Create(_int(doc, "vmid"), _pairs(doc["params"], "params"), _str(doc, "tags"), start)


# JSON name ("op") -> rebuild one from its dict (see plan.operations).
DECODERS: Mapping[str, Callable[[Mapping[str, Any]], Operation]] = {
    "set_config": lambda d: SetConfig(_pairs(d["values"], "values"), _strs(d["delete"], "delete")),
    "update_item": lambda d: UpdateItem(
        _str(d, "key"), _pairs(d["set"], "set"), _strs(d["unset"], "unset")
    ),
    "attach_mount": lambda d: AttachMount(_str(d, "key"), _str(d, "value")),
    "detach_mount": lambda d: DetachMount(_str(d, "key")),
    "resize_disk": lambda d: ResizeDisk(_str(d, "disk"), _int(d, "size_bytes")),
    "power": _power,
    "create_ct": _create,
    "delete_ct": lambda d: Delete(_int(d, "vmid")),
    "add_tags": lambda d: AddTags(_strs(d["add"], "add"), _strs(d["expect"], "expect")),
}
