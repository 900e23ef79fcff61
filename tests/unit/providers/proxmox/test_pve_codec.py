"""Parsing recorded-style PVE payloads (payloads/*.json) into model values."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from reconciler.model.containers import PowerState
from reconciler.providers.proxmox.decode import (
    CodecError,
    parse_config,
    parse_guest,
    parse_observed,
    parse_pending,
)

PAYLOADS = Path(__file__).parent / "payloads"


def _load(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())  # type: ignore[no-any-return]


def _plain(value: object) -> object:
    """Dataclass -> JSON-shaped data (tuples become lists) to compare with the fixture."""
    return json.loads(json.dumps(asdict(value)))  # type: ignore[call-overload]


@pytest.mark.parametrize("name", sorted(p.name for p in PAYLOADS.glob("config_*.json")))
def test_config_payload_parses_to_expected_settings(name: str) -> None:
    case = _load(name)
    settings = parse_config(case["config"], case["vmid"])
    assert _plain(settings) == case["expect"]


def test_observed_takes_node_status_digest_and_lock_from_their_sources() -> None:
    case = _load("config_odd_forms.json")
    observed = parse_observed(case["config"], vmid=205, node="pve2", status="running")
    assert observed.node == "pve2"
    assert observed.status is PowerState.RUNNING
    assert observed.digest == "aa11bb22cc33dd44ee55ff6677889900aabbccdd"
    assert observed.lock == "backup"
    assert observed.owned and not observed.create_pending
    stopped = parse_observed(case["config"], vmid=205, node="pve2", status="stopped")
    assert stopped.status is PowerState.STOPPED


def test_pending_rows_give_applied_view_pending_keys_and_digest() -> None:
    case = _load("pending_running_ct.json")
    applied, pending, digest = parse_pending(case["rows"])
    assert applied == case["expect_applied"]
    assert sorted(pending) == case["expect_pending_keys"]
    assert digest == case["expect_digest"]
    settings = parse_config(applied, 107)
    assert settings.memory_mib == 4096
    assert settings.cores is None  # pending delete already applied in this view
    assert settings.features.nesting and not settings.features.keyctl
    assert settings.on_boot is True and settings.unprivileged is True
    assert settings.network[0].ip == "dhcp"


def test_resources_rows_parse_to_guest_summaries() -> None:
    case = _load("resources_vm.json")
    guests = [_plain(parse_guest(row)) for row in case["rows"]]
    assert guests == case["expect"]
    assert parse_guest(case["rows"][1]).owned


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("memory", "lots"),
        ("rootfs", "local-lvm:vm-1-disk-0,size=big"),
        ("onboot", "maybe"),
        ("net0", "eth0"),
    ],
)
def test_malformed_values_raise_codec_error(key: str, value: str) -> None:
    with pytest.raises(CodecError):
        parse_config({"hostname": "x", key: value})
