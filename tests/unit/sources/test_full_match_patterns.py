"""Patterns match whole strings: in the shipped schemas, the PVE simulator's formats and the
property-string encoder (issue 14: `$` let a trailing newline through)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.plan.pve_text import CodecError, format_propstring
from reconciler.sources.kinds import schema_text, validator_for
from reconciler.testing.pvesim.formats import check_format

SCHEMAS = ("container.schema.json", "table.schema.json", "policy.schema.json", "config.schema.json")


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_pattern_is_anchored_at_both_ends(schema: str) -> None:
    loose = [
        p for p in _patterns(json.loads(schema_text(schema))) if not (p[0] == "^" and p[-1] == "$")
    ]
    assert not loose


def test_the_validator_refuses_a_trailing_newline_and_unicode_digits() -> None:
    schema = {"type": "string", "pattern": "^[a-z]+[0-9]$"}
    validator = validator_for("container.schema.json").evolve(schema=schema)
    assert validator.is_valid("pve1")
    assert not validator.is_valid("pve1\n")
    assert not validator.is_valid("pve\u0661")


@pytest.mark.parametrize(
    ("fmt", "value"),
    [("pve-storage-id", "local-lvm\n"), ("pve-node", "pve\n"), ("pve-lxc-mp-string", "/data,x"),
     ("pve-lxc-mp-string", "/data\n"), ("disk-size", "8G\n")],
)  # fmt: skip
def test_the_simulator_refuses_what_pve_refuses(fmt: str, value: str) -> None:
    assert check_format(fmt, value) is not None
    assert check_format(fmt, value.rstrip("\n").split(",")[0]) is None


@pytest.mark.parametrize("value", ["/data,backup=1", "/data=1", "/data\n", "/da\x00ta"])
def test_the_encoder_never_writes_an_injected_pair(value: str) -> None:
    with pytest.raises(CodecError, match="cannot go in a property string"):
        format_propstring([("volume", "local-lvm:8"), ("mp", value)], default_key="volume")
    assert format_propstring([("mp", "/data"), ("backup", True)]) == "mp=/data,backup=1"
