"""The bad-input corpus (bad_inputs/corpus.yaml): every case makes `validate` exit 1 naming
the file, a line and the field, with no traceback (issue 14)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli import main

CORPUS = yaml.safe_load((Path(__file__).parent / "bad_inputs" / "corpus.yaml").read_text())
TEMPLATE = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
BASES: dict[str, tuple[str, dict[str, Any]]] = {
    "container": (
        "specs/containers/web.yaml",
        {
            "apiVersion": "reconciler/v1",
            "kind": "Container",
            "metadata": {"name": "web"},
            "spec": {
                "vmid": 300,
                "template": TEMPLATE,
                "memory": "1GiB",
                "rootfs": {"storage": "local-lvm", "size": "8GiB"},
            },
        },
    ),
    "table": (
        "specs/tables/orders.yaml",
        {
            "apiVersion": "reconciler/v1",
            "kind": "Table",
            "metadata": {"name": "orders"},
            "spec": {
                "catalog": "lake",
                "namespace": "sales",
                "name": "orders",
                "schema": [{"id": 1, "name": "id", "type": "long", "required": True}],
            },
        },
    ),
    "policy": (
        "specs/policies/nightly.yaml",
        {
            "apiVersion": "reconciler/v1",
            "kind": "MaintenancePolicy",
            "metadata": {"name": "nightly"},
            "spec": {"expireSnapshots": {"olderThan": "7d", "retainLast": 5}},
        },
    ),
    "defaults": (  # written for every case; no spec names it unless a case's `also` says so
        "specs/defaults/base.yaml",
        {
            "apiVersion": "reconciler/v1",
            "kind": "Defaults",
            "metadata": {"name": "base"},
            "spec": {"container": {"swap": "512MiB"}, "table": {"formatVersion": 2}},
        },
    ),
    "config": (
        "reconciler.yaml",
        {
            "specs": "specs",
            "state_dir": "state",
            "proxmox": {
                "host": "127.0.0.1",
                "user": "reconciler@pve",
                "token_name": "reconciler",
                "token_secret_env": "PVE_TOKEN_SECRET",
                "node": "pve",
            },
            "catalogs": {"lake": {"type": "sql", "uri": "sqlite:///x.db"}},
            "daemon": {"poll_interval": "60s"},
        },
    ),
}


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".") if not dotted.startswith("catalogs") else [dotted]
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value


def _write(root: Path, relative: str, data: dict[str, Any]) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def test_the_corpus_is_large_enough_and_ids_are_unique() -> None:
    ids = [case["id"] for case in CORPUS]
    assert len(ids) >= 100
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", CORPUS, ids=[case["id"] for case in CORPUS])
def test_validate_refuses_with_file_line_and_field(
    case: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, (relative, base) in BASES.items():
        data = copy.deepcopy(base)
        edits = {**case.get("also", {}).get(name, {})}  # e.g. a spec naming the defaults
        if name == case["base"]:
            edits.update(case["set"])
        for dotted, value in edits.items():
            _set(data, dotted, value)
        _write(tmp_path, relative, data)
    code = main(["--config", str(tmp_path / "reconciler.yaml"), "validate"])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    relative = BASES[case["base"]][0]
    located = re.compile(rf"{re.escape(relative)}:[0-9]+: {re.escape(case['field'])}[:\[.]")
    assert code == 1, output
    assert located.search(output), output
    assert "Traceback" not in output
