"""A line's config operations -> one PUT /config body over the config PVE has now; pure.

Mechanical only: each operation says which key gets which value. What PVE already
holds is left out (so a retried PUT that had gone through sends nothing), and an
UpdateItem keeps the sub-keys of `netN`/`mpN` the plan does not name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.plan.change import Operation
from reconciler.plan.container_ops import AttachMount, DetachMount, SetConfig, UpdateItem
from reconciler.plan.pve_text import (
    CodecError,
    format_propstring,
    format_scalar,
    normalise_tags,
    parse_propstring,
    split_list,
)

Params = dict[str, str | int]


def config_body(
    ops: Iterable[Operation], current: Mapping[str, Any], destructive_allowed: bool
) -> tuple[Params, list[str]]:
    """(params, delete keys) still to send for `ops` given the `current` GET /config."""
    params: Params = {}
    delete: list[str] = []
    for op in ops:
        if isinstance(op, SetConfig):
            for key, value in op.values:
                if not same_value(key, current.get(key), value):
                    params[key] = value
            delete += [key for key in op.delete if key in current]
        elif isinstance(op, UpdateItem):
            text = _updated(op, current)
            if text is not None:
                params[op.key] = text
        elif isinstance(op, AttachMount):
            have = current.get(op.key)
            if have is None:
                params[op.key] = op.value
            elif _props(op.key, have).get("mp") != _props(op.key, op.value).get("mp"):
                raise CodecError(f"{op.key} exists already with another path; re-plan")
        elif isinstance(op, DetachMount):
            have = current.get(op.key)
            if have is None:
                continue  # detached already (e.g. by a retried PUT that had gone through)
            volume = not str(_props(op.key, have).get("volume", "")).startswith("/")
            if volume and not destructive_allowed:
                raise CodecError(
                    f"removing {op.key} detaches a volume; the line lacks allow_destructive"
                )
            delete.append(op.key)
        else:
            raise CodecError(f"{type(op).__name__} is not a config operation")
    return params, sorted(set(delete))


def _props(key: str, text: object) -> dict[str, str]:
    default = "volume" if key.startswith(("mp", "rootfs")) else None
    return parse_propstring(str(text), default_key=default)


def _updated(op: UpdateItem, current: Mapping[str, Any]) -> str | None:
    have = current.get(op.key)
    if have is None:
        raise CodecError(f"{op.key} is not in the CT config any more; re-plan")
    props = _props(op.key, have)
    new = dict(props)
    for sub, value in op.set:
        new[sub] = format_scalar(value)
    for sub in op.unset:
        new.pop(sub, None)
    if new == props:
        return None
    default = "volume" if op.key.startswith("mp") else None
    return format_propstring(new.items(), default_key=default)


def same_value(key: str, have: object, want: str | int) -> bool:
    """True when PVE's `have` already means `want` (tags and property strings by content)."""
    if have is None:
        return False
    text, wanted = str(have), format_scalar(want)
    if key == "description":
        text = text.rstrip("\n")
    if text == wanted:
        return True
    if key == "tags":
        return normalise_tags(split_list(text)) == normalise_tags(split_list(wanted))
    if "=" in wanted:
        try:
            return _props(key, text) == _props(key, wanted)
        except CodecError:
            return False
    return False
