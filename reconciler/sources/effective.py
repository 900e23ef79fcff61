"""One spec with its Defaults applied, as YAML with the file:line every value came from."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reconciler.sources.defaults import effective, split_defaults
from reconciler.sources.documents import Document, PathKey, SpecError, read_tree
from reconciler.sources.kinds import KINDS
from reconciler.sources.validate import check_one

_COMMENT_COLUMN = 44  # values longer than this push their comment further right


@dataclass(frozen=True)
class EffectiveSpec:
    """The effective document of one address, the Defaults it used, and its problems."""

    address: str
    doc: Document
    defaults: tuple[tuple[str, str], ...]  # (name, file)
    errors: tuple[SpecError, ...]


class NoSuchSpec(LookupError):
    """No spec in the tree has the address (the message names the known ones)."""


def _matches(address: str, wanted: str) -> bool:
    """`table/sales.orders` also names `table/lake.sales.orders` (the catalog left out)."""
    if address == wanted:
        return True
    kind, _, rest = address.partition("/")
    return kind == "table" and wanted == f"table/{rest.partition('.')[2]}"


def find_effective(root: Path, address: str) -> EffectiveSpec:
    """The spec at `address` under `root`, with its Defaults merged; NoSuchSpec if none (or
    more than one, for a table named without its catalog)."""
    docs, read_errors = read_tree(root)
    registry, others, _ = split_defaults(docs)
    found: list[EffectiveSpec] = []
    known: list[str] = []
    for doc in others:
        name_errors: list[SpecError] = []
        merged = effective(doc, registry, name_errors)
        built, errors = check_one(merged)
        if built is None:
            continue
        known.append(built.spec.address)
        if _matches(built.spec.address, address):
            names = merged.data.get("spec", {}).get("defaults")
            used = tuple(
                (name, registry[name].doc.file)
                for name in (names if isinstance(names, list) else [])
                if isinstance(name, str) and name in registry
            )
            problems = tuple(sorted({*name_errors, *errors}, key=lambda e: (e.file, e.line)))
            found.append(EffectiveSpec(built.spec.address, merged, used, problems))
    if len(found) != 1:
        unreadable = f"; {len(read_errors)} files could not be read" if read_errors else ""
        what = "several specs match" if found else "no spec has that address"
        names = ", ".join(sorted(known)) or "none"
        raise NoSuchSpec(f"{address}: {what} in {root}{unreadable} (specs: {names})")
    return found[0]


def is_address(text: str) -> bool:
    """`container/minio`, `table/sales.orders`, `policy/standard`: a known prefix and a name."""
    prefix, slash, name = text.partition("/")
    prefixes = {kind.address_prefix for kind in KINDS.values()}
    return bool(slash) and prefix in prefixes and bool(name) and "/" not in name


def _scalar(value: Any) -> str:
    """One YAML scalar on one line (JSON quoting, valid YAML, when YAML would fold it)."""
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    text = yaml.safe_dump(value, default_flow_style=True, width=1_000_000, allow_unicode=True)
    text = text.removesuffix("\n...\n").removesuffix("\n")
    return text if "\n" not in text else json.dumps(value, ensure_ascii=False)


Rows = list[tuple[str, PathKey]]


def _node(value: Any, path: PathKey, indent: str, lead: str, rows: Rows) -> None:
    """A non-empty mapping or list; `lead` starts its first line (`- ` for a list item)."""
    items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
    for position, (key, child) in enumerate(items):
        prefix = lead if position == 0 else indent
        child_path = (*path, key)
        head = f"{prefix}{_scalar(key)}:" if isinstance(value, dict) else f"{prefix}-"
        nested = isinstance(child, dict | list) and bool(child)
        if not nested:
            rows.append((f"{head} {_scalar(child)}", child_path))
        elif isinstance(value, list) and isinstance(child, dict):
            _node(child, child_path, indent + "  ", head + " ", rows)  # first key on the `-` line
        else:
            rows.append((head, child_path))
            _node(child, child_path, indent + "  ", indent + "  ", rows)


def render_effective(spec: EffectiveSpec, display: Callable[[str], str] = str) -> str:
    """The effective document as YAML (without `spec.defaults`: it is already applied), each
    line ending in `# FILE:LINE` of the value it shows; `display` shortens file names."""
    data = dict(spec.doc.data)
    if isinstance(data.get("spec"), dict):
        data["spec"] = {k: v for k, v in data["spec"].items() if k != "defaults"}
    rows: Rows = []
    _node(data, (), "", "", rows)
    used = ", ".join(f"{name} ({display(file)})" for name, file in spec.defaults) or "none"
    lines = [
        f"# {spec.address}: the effective spec of {display(spec.doc.file)}",
        f"# defaults applied: {used}",
    ]
    width = min(max((len(text) for text, _ in rows), default=0), _COMMENT_COLUMN)
    for text, path in rows:
        where = spec.doc.locate(path)
        lines.append(f"{text.ljust(width)}  # {display(where.file)}:{where.line}")
    return "\n".join(lines) + "\n"
