"""Defaults documents: partial specs per kind, merged under the specs that name them."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from reconciler.sources.documents import Document, Origin, PathKey, SpecError
from reconciler.sources.kinds import API_VERSION, KINDS, validator_for
from reconciler.sources.schema_messages import schema_problems, show

DEFAULTS_KIND = "Defaults"
DEFAULTS_SCHEMA = "defaults.schema.json"
# The kinds a Defaults document can hold a partial spec for -> its section key.
SECTIONS: Mapping[str, str] = MappingProxyType({"Container": "container", "Table": "table"})


@dataclass(frozen=True)
class Defaults:
    """One named Defaults document (checked on its own; its values again in each spec)."""

    name: str
    doc: Document

    def section(self, key: str) -> dict[str, Any] | None:
        spec = self.doc.data.get("spec")
        value = spec.get(key) if isinstance(spec, dict) else None
        return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class _Layer:
    """One contributor to an effective spec: a document and where its partial spec sits."""

    doc: Document
    prefix: PathKey
    value: dict[str, Any]


def is_defaults(doc: Document) -> bool:
    return isinstance(doc.data, dict) and doc.data.get("kind") == DEFAULTS_KIND


def check_defaults(doc: Document) -> tuple[Defaults | None, list[SpecError]]:
    """The envelope and, per section, the keys and values the kind's schema refuses (a typo
    must not pass silently); required keys are the specs' business."""
    errors = [
        problem.error(doc)
        for error in validator_for(DEFAULTS_SCHEMA).iter_errors(doc.data)
        for problem in schema_problems(error)
    ]
    spec = doc.data.get("spec")
    for kind, key in SECTIONS.items():
        partial = spec.get(key) if isinstance(spec, dict) else None
        if not isinstance(partial, dict):
            continue
        wrapped = {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": "x"}}
        for error in validator_for(KINDS[kind].schema).iter_errors({**wrapped, "spec": partial}):
            for problem in schema_problems(error):
                if not problem.missing and problem.path[:1] == ("spec",):
                    errors.append(doc.error(("spec", key, *problem.path[1:]), problem.message))
        if "defaults" in partial:
            message = "Defaults cannot name other Defaults; list every name in the spec's defaults"
            errors.append(doc.error(("spec", key, "defaults"), message))
    metadata = doc.data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return (Defaults(name, doc) if isinstance(name, str) else None), errors


def split_defaults(
    docs: Sequence[Document],
) -> tuple[dict[str, Defaults], list[Document], list[SpecError]]:
    """(Defaults by name, the other documents, the Defaults' own problems)."""
    registry: dict[str, Defaults] = {}
    others: list[Document] = []
    errors: list[SpecError] = []
    for doc in docs:
        if not is_defaults(doc):
            others.append(doc)
            continue
        item, found = check_defaults(doc)
        errors.extend(found)
        if item is None:
            continue
        first = registry.get(item.name)
        if first is not None:
            where = f"{first.doc.file}:{first.doc.line}"
            message = f"Defaults {item.name!r} is already defined at {where}"
            errors.append(doc.error(("metadata", "name"), message))
        else:
            registry[item.name] = item
    return registry, others, errors


def apply_defaults(docs: Sequence[Document]) -> tuple[list[Document], list[SpecError]]:
    """The non-Defaults documents, each with the Defaults it names merged under its spec, and
    every problem of the Defaults and of the names."""
    registry, others, errors = split_defaults(docs)
    return [effective(doc, registry, errors) for doc in others], errors


def _merge(base: Any, over: Any) -> Any:
    """Maps merge deeply; anything else (lists included) is replaced by `over`."""
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return copy.deepcopy(over)
    merged = copy.deepcopy(base)
    for key, value in over.items():
        merged[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
    return merged


def _has(value: Any, path: PathKey) -> bool:
    for part in path:
        in_map = isinstance(value, dict) and part in value
        in_list = isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
        if not (in_map or in_list):
            return False
        value = value[part]
    return True


def _trace(
    value: Any, rel: PathKey, layers: Sequence[_Layer], origins: dict[PathKey, Origin]
) -> None:
    """Each field's origin: the last layer holding that path (the one whose value won)."""
    keys: list[Any] = list(value) if isinstance(value, dict) else []
    if isinstance(value, list):
        keys = list(range(len(value)))
    for key in keys:
        path = (*rel, key)
        owner = next(layer for layer in reversed(layers) if _has(layer.value, path))
        if owner is not layers[-1]:
            where = owner.doc.locate((*owner.prefix, *path))
            origins[("spec", *path)] = where
        _trace(value[key], path, layers, origins)


def effective(doc: Document, registry: Mapping[str, Defaults], errors: list[SpecError]) -> Document:
    """`doc` with the Defaults its `spec.defaults` names merged under its spec (in order, later
    over earlier, the spec last); an unknown name is reported at its own line."""
    data = doc.data
    kind = data.get("kind") if isinstance(data, dict) else None
    spec = data.get("spec") if isinstance(data, dict) else None
    names = spec.get("defaults") if isinstance(spec, dict) else None
    if not isinstance(kind, str) or kind not in SECTIONS:
        return doc
    if not isinstance(spec, dict) or not isinstance(names, list):
        return doc
    key = SECTIONS[kind]
    layers: list[_Layer] = []
    for position, name in enumerate(names):
        item = registry.get(name) if isinstance(name, str) else None
        where = ("spec", "defaults", position)
        if item is None:
            if isinstance(name, str):
                known = ", ".join(sorted(registry)) or "none"
                message = f"unknown Defaults {show(name)}: no such Defaults (known: {known})"
                errors.append(doc.error(where, message))
            continue
        section = item.section(key)
        if section is None:
            at = f"{item.doc.file}:{item.doc.line}"
            errors.append(doc.error(where, f"Defaults {name!r} ({at}) has no {key}: section"))
            continue
        layers.append(_Layer(item.doc, ("spec", key), section))
    if not layers:
        return doc
    layers.append(_Layer(doc, ("spec",), spec))
    merged: Any = {}
    for layer in layers:
        merged = _merge(merged, layer.value)
    origins: dict[PathKey, Origin] = {}
    _trace(merged, (), layers, origins)
    return replace(doc, data={**data, "spec": merged}, origins=origins)
