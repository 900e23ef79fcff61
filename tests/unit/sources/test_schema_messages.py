"""Schema problems read as allowed values and descriptions, and never stop the other checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sources_spec_files import container, write

from reconciler.sources import load_desired
from reconciler.sources.documents import Document, read_tree
from reconciler.sources.kinds import schema_text
from reconciler.sources.schema_messages import PATTERN_HINTS
from reconciler.sources.validate import check_one

ROOT = Path(__file__).resolve().parents[3]
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
def test_every_shipped_pattern_has_a_description(schema: str) -> None:
    """A pattern without a hint would show users a raw regex."""
    missing = sorted(set(_patterns(json.loads(schema_text(schema)))) - set(PATTERN_HINTS))
    assert not missing, f"{schema}: add these to PATTERN_HINTS: {missing}"


def test_schema_and_semantic_problems_of_one_document_together(tmp_path: Path) -> None:
    text = container("a", 200, "192.168.5.10").replace(
        "  template: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst\n", ""
    )
    text = text.replace("memory: 1GiB", "memory: 1.5KiB") + "  drift: sometimes\n"
    write(tmp_path, "a.yaml", text)
    got = [str(e).replace(f"{tmp_path}/", "") for e in load_desired(tmp_path).errors]
    assert got == [
        "a.yaml:5: spec.template: required key is missing",
        'a.yaml:7: spec.memory: "1.5KiB" is not a whole number of MiB (memory is set in MiB)',
        "a.yaml:10: spec.network[0].gateway: "
        "gateway 192.168.4.1 is outside the subnet 192.168.5.0/24",
        'a.yaml:12: spec.drift: "sometimes" is not one of: enforce, warn, ignore',
    ]


def test_a_broken_list_item_keeps_the_positions_of_later_messages(tmp_path: Path) -> None:
    text = container("a", 200, "192.168.4.50").replace(
        "  dependsOn", "    - {name: eth1, bridge: vmbr1, mtu: 9}\n  dependsOn"
    )
    text += "  startup: {upDelay: soon}\n"
    write(tmp_path, "a.yaml", text)
    got = [str(e).replace(f"{tmp_path}/", "") for e in load_desired(tmp_path).errors]
    assert got == [
        "a.yaml:12: spec.network[1].mtu: 9 is less than the minimum of 64",
        'a.yaml:14: spec.startup.upDelay: "soon" is not a duration; '
        "use a whole number with s, m, h, d or w: 30s, 10m, 4h, 7d, 1w",
    ]


def _leaves(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _leaves(value, (*path, index))
    if path:
        yield path


def _with(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(data))
    node = copy
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return copy


def _shipped_documents() -> list[Document]:
    docs, errors = read_tree(ROOT / "specs")
    assert not errors
    return list(docs)


@pytest.mark.parametrize("bad", [{"x": 1}, [["x"]], "zz z", -7, None], ids=repr)
def test_any_broken_field_of_the_shipped_specs_is_located_never_raised(bad: Any) -> None:
    """Every field of every shipped spec replaced by a wrong value: the checks run on what is
    left and never raise; a list of lists is wrong everywhere, so it is always reported."""
    for doc in _shipped_documents():
        for path in _leaves(doc.data):
            if path[:1] in (("apiVersion",), ("kind",)):
                continue
            broken = Document(doc.file, doc.index, doc.line, _with(doc.data, path, bad), doc.lines)
            _, errors = check_one(broken)
            assert all(e.line >= doc.line for e in errors)
            if bad == [["x"]]:
                assert errors, f"{doc.file}: {path} = {bad!r} passed"
