"""The defaults docs/specs.md states are the JSON Schemas' and the code's (the code's are the
contract users got: a spec without the field behaves as the table says)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from reconciler.model.containers import RestartMode
from reconciler.model.policies import MIB
from reconciler.sources import load_desired

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = {"container": "Container", "table": "Table", "policy": "MaintenancePolicy"}


def _section_defaults(heading: str) -> dict[str, str]:
    """{field: default cell} of every table under `## heading` whose header has `default`."""
    text = (ROOT / "docs" / "specs.md").read_text()
    body = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    found: dict[str, str] = {}
    column = None
    for line in body.splitlines():
        if not line.startswith("|"):
            column = None
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if column is None:
            column = cells.index("default") if "default" in cells else -1
            continue
        if column < 0 or set(cells[0]) <= {"-", " "}:
            continue
        for name in re.findall(r"`([^`]+)`", cells[0].split(",")[0]):
            found.setdefault(name, cells[column])
    return found


def _schema_defaults(kind: str) -> dict[str, Any]:
    """{dotted spec path: default} of the kind's schema (spec properties, nested objects)."""
    schema = json.loads((ROOT / "schemas" / f"{kind}.schema.json").read_text())
    out: dict[str, Any] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for name, prop in node.get("properties", {}).items():
            path = f"{prefix}{name}"
            if "default" in prop:
                out[path] = prop["default"]
            walk(prop, f"{path}.")

    walk(schema["properties"]["spec"], "")
    return out


def _shown(value: Any) -> str:
    return f"`{json.dumps(value) if not isinstance(value, str) else value}`"


@pytest.mark.parametrize("kind", sorted(SECTIONS))
def test_every_schema_default_is_the_documented_one(kind: str) -> None:
    documented = _section_defaults(SECTIONS[kind])
    defaults = _schema_defaults(kind)
    assert len(defaults) >= 4
    for path, value in defaults.items():
        if path == "restartWindow.timezone":  # documented beside restartWindow, in Restarts
            continue
        assert path in documented, f"docs/specs.md has no row for {kind} {path}"
        assert documented[path].startswith(_shown(value)), (path, documented[path], value)


def test_a_bare_container_and_policy_get_the_documented_defaults(tmp_path: Path) -> None:
    for folder, text in {
        "containers/a.yaml": (
            "apiVersion: reconciler/v1\nkind: Container\nmetadata: {name: a}\n"
            "spec: {vmid: 200, template: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst'}\n"
        ),
        "policies/p.yaml": (
            "apiVersion: reconciler/v1\nkind: MaintenancePolicy\nmetadata: {name: p}\n"
            "spec: {compaction: {}, expireSnapshots: {}, removeOrphanFiles: {}}\n"
        ),
    }.items():
        (tmp_path / folder).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / folder).write_text(text)
    loaded = load_desired(tmp_path)
    assert loaded.errors == ()
    ct = loaded.desired.containers[0]
    container = _section_defaults("Container")
    assert (ct.restart, container["restart"]) == (RestartMode.MANUAL, "`manual`")
    assert (ct.settings.memory_mib, ct.settings.swap_mib) == (512, 512)
    assert container["memory"] == container["swap"] == "`512MiB`"
    assert ct.settings.unprivileged is True and container["unprivileged"] == "`true`"
    for attr, field in (("on_boot", "onBoot"), ("protection", "protection")):
        assert getattr(ct.settings, attr) is False and container[field] == "`false`"
    assert ct.allow_destructive is False and container["allowDestructive"] == "`false`"
    assert (ct.drift.value, ct.state.value, ct.settings.hostname) == ("enforce", "running", "a")
    assert (container["drift"], container["state"]) == ("`enforce`", "`running`")
    assert container["hostname"] == "`metadata.name`"
    policy = loaded.desired.policies[0]
    assert policy.compaction is not None and policy.compaction.small_file_size == 32 * MIB
    assert policy.compaction.min_small_files == 50
    assert _section_defaults("MaintenancePolicy")["compaction.minSmallFiles"].startswith("`50`")
    assert policy.max_concurrent_jobs == 1
