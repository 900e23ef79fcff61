"""One parametrized runner over the container differ case files in cases/*.json."""

from __future__ import annotations

import copy
import json
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.diff import PlanOptions, make_plan, plan_containers
from reconciler.model.containers import (
    OWNER_TAG,
    ContainerSettings,
    ContainerSpec,
    DriftMode,
    Features,
    GuestSummary,
    MountPoint,
    NetworkInterface,
    ObservedContainer,
    PowerState,
    RestartMode,
    Startup,
    Volume,
)
from reconciler.model.units import parse_bytes
from reconciler.model.windows import Window
from reconciler.plan.change import Change
from reconciler.plan.serialize import change_to_dict
from reconciler.render import render_json, render_text

CASES = sorted((Path(__file__).parent / "cases").glob("*.json"))


def _volume(doc: dict[str, Any] | None) -> Volume | None:
    if doc is None:
        return None
    return Volume(storage=doc["storage"], size_bytes=parse_bytes(doc["size"], "G"))


def _mountpoint(doc: dict[str, Any]) -> MountPoint:
    return MountPoint(
        id=doc["id"],
        path=doc["path"],
        volume=_volume(doc.get("volume")),
        host_path=doc.get("host_path"),
        backup=doc.get("backup"),
        read_only=doc.get("read_only", False),
    )


def settings_from(doc: dict[str, Any]) -> ContainerSettings:
    """JSON (model field names; sizes as `20GiB`) -> ContainerSettings."""
    doc = dict(doc)
    startup = doc.pop("startup", None)
    return ContainerSettings(
        hostname=doc.pop("hostname"),
        rootfs=_volume(doc.pop("rootfs", None)),
        mountpoints=tuple(_mountpoint(m) for m in doc.pop("mountpoints", [])),
        network=tuple(NetworkInterface(**n) for n in doc.pop("network", [])),
        nameservers=tuple(doc.pop("nameservers", [])),
        features=Features(**doc.pop("features", {})),
        startup=Startup(**startup) if startup is not None else None,
        tags=tuple(doc.pop("tags", [])),
        **doc,
    )


def spec_from(doc: dict[str, Any]) -> ContainerSpec:
    settings = {"hostname": doc["name"], **doc.get("settings", {})}
    return ContainerSpec(
        name=doc["name"],
        vmid=doc["vmid"],
        node=doc.get("node", "pve"),
        template=doc.get("template", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"),
        settings=settings_from(settings),
        state=PowerState(doc.get("state", "running")),
        depends_on=tuple(doc.get("depends_on", [])),
        drift=DriftMode(doc.get("drift", "enforce")),
        ignore=tuple(doc.get("ignore", [])),
        allow_destructive=doc.get("allow_destructive", False),
        restart=RestartMode(doc.get("restart", "manual")),
        restart_window=Window(**doc["restart_window"]) if "restart_window" in doc else None,
    )


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of dicts; lists and scalars in `patch` replace."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def observed_from(doc: dict[str, Any], specs: dict[str, dict[str, Any]]) -> ObservedContainer:
    """`from_spec` starts from that spec's settings (plus the owner tag), then `settings`."""
    settings: dict[str, Any] = {}
    if "from_spec" in doc:
        spec = specs[doc["from_spec"]]
        settings = {"hostname": spec["name"], **copy.deepcopy(spec.get("settings", {}))}
        settings["tags"] = sorted({*settings.get("tags", []), OWNER_TAG})
        settings.setdefault("ostype", "debian")
    settings = _merge(settings, doc.get("settings", {}))
    return ObservedContainer(
        vmid=doc["vmid"],
        node=doc.get("node", "pve"),
        status=PowerState(doc.get("status", "running")),
        settings=settings_from(settings),
        digest=doc.get("digest", f"digest-{doc['vmid']}"),
        lock=doc.get("lock"),
        pending_keys=frozenset(doc.get("pending_keys", [])),
    )


def load_case(path: Path) -> tuple[Any, ...]:
    case = json.loads(path.read_text())
    spec_docs = {d["name"]: d for d in case["desired"]}
    desired = tuple(spec_from(d) for d in case["desired"])
    actual = case.get("actual", {})
    observed = {
        o.vmid: o for o in (observed_from(d, spec_docs) for d in actual.get("observed", []))
    }
    guests = [
        GuestSummary(**{**g, "tags": tuple(g.get("tags", []))}) for g in actual.get("guests", [])
    ]
    listed = {g.vmid for g in guests}
    for o in observed.values():
        if o.vmid not in listed:  # /cluster/resources lists every CT whose config we read
            guests.append(
                GuestSummary(
                    o.vmid,
                    o.node,
                    "lxc",
                    o.settings.hostname,
                    o.status.value,
                    o.settings.tags,
                    o.lock,
                )
            )
    raw_options = dict(case.get("options", {}))
    if "now" in raw_options:  # the injected clock, as ISO 8601 text in the case file
        raw_options["now"] = datetime.fromisoformat(raw_options["now"])
    options = PlanOptions(**raw_options)
    return desired, tuple(guests), observed, options, case["expect"]


def _check(change: dict[str, Any], want: dict[str, Any], where: str) -> None:
    assert change["address"] == want["address"], where
    assert change["action"] == want["action"], where
    fields = [[f["path"], f["before"], f["after"]] for f in change["fields"]]
    if "fields" in want:
        assert fields == want["fields"], where
    if "field_paths" in want:
        assert [f[0] for f in fields] == want["field_paths"], where
    for text in want.get("reason_contains", []):
        assert text in change["reason"], f"{where}: {text!r} not in {change['reason']!r}"
    if "depends_on" in want:
        assert change.get("depends_on", []) == want["depends_on"], where
    if "options" in want:
        assert change.get("options", {}) == want["options"], where
    if "preconditions" in want:
        assert change["preconditions"] == want["preconditions"], where


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_container_case(path: Path) -> None:
    desired, guests, observed, options, expect = load_case(path)
    changes = plan_containers(desired, guests, observed, options)
    depends = {s.address: s.depends_on for s in desired}
    plan = make_plan(changes, depends)
    got: list[dict[str, Any]] = []
    for line in plan.changes:
        doc: dict[str, Any] = dict(change_to_dict(line))
        doc["preconditions"] = dict(line.preconditions)
        got.append(doc)
    summary = [f"{c['address']} {c['action']}" for c in got]
    assert summary == [f"{w['address']} {w['action']}" for w in expect], summary
    for index, (change, want) in enumerate(zip(got, expect, strict=True)):
        _check(change, want, f"{path.stem}[{index}]")


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 25


def _plan_bytes(desired: Any, guests: Any, observed: Any, options: PlanOptions) -> tuple[str, str]:
    changes = plan_containers(desired, guests, observed, options)
    plan = make_plan(changes, {s.address: s.depends_on for s in desired})
    return render_json(plan), render_text(plan)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_same_inputs_give_identical_bytes(path: Path) -> None:
    """Determinism: inputs in any order, loaded twice -> byte-identical JSON and text."""
    desired, guests, observed, options, _ = load_case(path)
    first = _plan_bytes(desired, guests, observed, options)
    again, guests2, observed2, _, _ = load_case(path)
    shuffled = random.Random(path.stem)
    order = list(again)
    shuffled.shuffle(order)
    guest_order = list(guests2)
    shuffled.shuffle(guest_order)
    observed_items = list(observed2.items())
    shuffled.shuffle(observed_items)
    second = _plan_bytes(tuple(order), tuple(guest_order), dict(observed_items), options)
    assert first[0].encode() == second[0].encode()
    assert first[1].encode() == second[1].encode()


def test_order_changes_ignores_input_order() -> None:
    """All case plans merged, then shuffled: make_plan returns the same sequence."""
    changes: list[Change] = []
    depends: dict[str, tuple[str, ...]] = {}
    for path in CASES:
        desired, guests, observed, options, _ = load_case(path)
        changes.extend(plan_containers(desired, guests, observed, options))
        depends.update({s.address: s.depends_on for s in desired})
    items = list(changes)
    baseline = make_plan(items, depends)
    random.Random(7).shuffle(items)
    assert make_plan(items, depends) == baseline
