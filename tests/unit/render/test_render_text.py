"""Golden files for the text plan view; UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reconciler.diff import PlanOptions, make_plan, plan_containers
from reconciler.model.containers import (
    CREATE_PENDING_TAG,
    OWNER_TAG,
    ContainerSettings,
    ContainerSpec,
    Features,
    GuestSummary,
    MountPoint,
    NetworkInterface,
    ObservedContainer,
    PowerState,
    Volume,
)
from reconciler.model.units import GIB
from reconciler.plan.change import PROCEDURE_ACTIONS, Action, Change, FieldChange, Plan
from reconciler.plan.maintenance_ops import CallProcedure, fold
from reconciler.render import render_json, render_text
from reconciler.render.markdown import render_plan_markdown
from reconciler.render.text import NO_CHANGES, SYMBOLS

GOLDEN = Path(__file__).parent / "golden"
TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


def _settings(name: str, **extra: object) -> ContainerSettings:
    base: dict[str, object] = {
        "hostname": name,
        "memory_mib": 2048,
        "cores": 2,
        "rootfs": Volume("local-lvm", 20 * GIB),
        "network": (NetworkInterface(0, "eth0", "vmbr0", ip="192.168.4.31/24", firewall=True),),
        "features": Features(nesting=True),
        "tags": ("datalake", OWNER_TAG),
        "ostype": "debian",
    }
    base.update(extra)
    return ContainerSettings(**base)  # type: ignore[arg-type]


def differ_plan() -> Plan:
    """A plan the real differ builds: create, update, resize, restart, refuse, orphan, start."""
    specs = (
        ContainerSpec("postgres", 105, "pve", TEMPLATE, _settings("postgres")),
        ContainerSpec(
            "minio",
            107,
            "pve",
            TEMPLATE,
            _settings(
                "minio",
                mountpoints=(
                    MountPoint(0, "/data", Volume("local-lvm", 100 * GIB), backup=True),
                    MountPoint(1, "/srv/lake", host_path="/tank/lake"),
                ),
                searchdomain="gti.local",
            ),
            depends_on=("container/postgres",),
        ),
        ContainerSpec("hive", 108, "pve", TEMPLATE, _settings("hive", memory_mib=4096)),
    )
    minio_now = _settings(
        "minio",
        memory_mib=1024,
        rootfs=Volume("local-lvm", 8 * GIB),
        mountpoints=(MountPoint(0, "/data", Volume("local-lvm", 200 * GIB), backup=True),),
        tags=("datalake", OWNER_TAG, CREATE_PENDING_TAG),
    )
    observed = {
        107: ObservedContainer(107, "pve", PowerState.RUNNING, minio_now, "d107"),
        108: ObservedContainer(108, "pve", PowerState.STOPPED, _settings("hive"), "d108"),
        150: ObservedContainer(
            150, "pve", PowerState.RUNNING, _settings("old", tags=(OWNER_TAG,)), "d150"
        ),
    }
    guests = tuple(
        GuestSummary(o.vmid, o.node, "lxc", o.settings.hostname, o.status.value, o.settings.tags)
        for o in observed.values()
    )
    changes = plan_containers(specs, guests, observed, PlanOptions())
    return make_plan(changes, {s.address: s.depends_on for s in specs})


def _maintain_line(address: str) -> Change:
    """Two procedure calls folded into one maintain line, as the differ builds it."""
    compaction = Change(
        address,
        Action.REWRITE_DATA_FILES,
        "31 small files below 96 MiB",
        options=(("strategy", "binpack"), ("target-file-size-bytes", 134217728)),
        operations=(CallProcedure("rewrite_data_files", (("strategy", "binpack"),)),),
    )
    expiry = Change(
        address,
        Action.EXPIRE_SNAPSHOTS,
        "3 snapshots older than 7d",
        options=(("older_than", "2026-01-01T00:00:00+00:00"), ("retain_last", 5)),
        operations=(CallProcedure("expire_snapshots", (("retain_last", 5),), (), 604800),),
    )
    (line,) = fold((compaction, expiry))
    return line


def every_action_plan() -> Plan:
    """One line per Action, maintenance options included, built by hand."""
    changes = []
    for action in Action:
        if action in PROCEDURE_ACTIONS:  # the calls of a maintain line, never lines
            continue
        if action is Action.MAINTAIN:
            changes.append(_maintain_line(f"table/lake.sales.{action.value}"))
            continue
        fields: tuple[FieldChange, ...] = ()
        options: tuple[tuple[str, object], ...] = ()
        if action in (Action.CREATE, Action.UPDATE, Action.DELETE):
            fields = (FieldChange("memory", None if action == Action.CREATE else 512, 1024),)
        if action.value.startswith(("rewrite", "expire", "remove")) or action == Action.DEFERRED:
            options = (("target-file-size-bytes", 134217728), ("where", None), ("tables", ["a"]))
        changes.append(
            Change(
                address=f"table/lake.sales.{action.value}",
                action=action,
                reason=f"why {action.value}",
                fields=fields,
                options=options,  # type: ignore[arg-type]
            )
        )
    return make_plan(changes, {})


PLANS = {
    "empty": Plan(),
    "differ_plan": differ_plan(),
    "every_action": every_action_plan(),
}


def _golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(PLANS))
def test_text_golden(name: str) -> None:
    _golden(name, render_text(PLANS[name]))


def test_color_golden() -> None:
    text = render_text(PLANS["differ_plan"], color=True)
    assert "\x1b[" in text
    _golden("differ_plan_color", text)


def test_empty_plan_is_no_changes() -> None:
    text = render_text(Plan())
    assert text == NO_CHANGES
    assert text.splitlines()[0].startswith("No changes.")


def test_summary_line_counts() -> None:
    last = render_text(PLANS["differ_plan"]).splitlines()[-1]
    assert last == (
        "Plan: 1 to create, 3 to update, 1 to resize, 1 to start, 2 refused, 1 deferred, "
        "1 orphaned."
    )


def test_every_action_has_a_symbol() -> None:
    assert set(SYMBOLS) == set(Action) - PROCEDURE_ACTIONS
    text = render_text(PLANS["every_action"])
    for action in set(Action) - PROCEDURE_ACTIONS:
        assert f"{SYMBOLS[action][0]} table/lake.sales.{action.value}: {action.value}" in text


def test_maintain_line_lists_its_calls_in_order() -> None:
    text = render_text(Plan((_maintain_line("table/lake.web.events"),)))
    assert text.split("\n\n")[2].splitlines() == [
        "  * table/lake.web.events: maintain (rewrite_data_files, expire_snapshots)",
        "      rewrite_data_files  # 31 small files below 96 MiB",
        '        option strategy: "binpack"',
        "        option target-file-size-bytes: 134217728",
        "      expire_snapshots  # 3 snapshots older than 7d",
        '        option older_than: "2026-01-01T00:00:00+00:00"',
        "        option retain_last: 5",
    ]
    assert text.rstrip().endswith(
        "Plan: 0 to create, 0 to update, 0 to resize, 1 maintenance jobs to run."
    )


def test_maintain_line_markdown_lists_its_calls() -> None:
    text = render_plan_markdown(Plan((_maintain_line("table/lake.web.events"),)))
    assert (
        "| * | `table/lake.web.events` | maintain |"
        " 31 small files below 96 MiB; 3 snapshots older than 7d |" in text
    )
    section = text.split("## `table/lake.web.events` (maintain)\n\n", 1)[1]
    assert section.splitlines()[:6] == [
        "1. `rewrite_data_files`: 31 small files below 96 MiB",
        '    - option `strategy`: "binpack"',
        "    - option `target-file-size-bytes`: 134217728",
        "2. `expire_snapshots`: 3 snapshots older than 7d",
        '    - option `older_than`: "2026-01-01T00:00:00+00:00"',
        "    - option `retain_last`: 5",
    ]


def test_json_wraps_the_contract() -> None:
    doc = json.loads(render_json(PLANS["differ_plan"]))
    assert doc["format_version"] == "1"
    lines = [f"{c['address']} {c['action']}" for c in doc["changes"]]
    # postgres sorts after hive but before minio, which depends on it
    assert lines.index("container/postgres create") < lines.index("container/minio update")
    assert lines[0] == "container/hive update"
    assert doc["summary"] == {**PLANS["differ_plan"].summary(), "exit_code": 2}
