"""Specs dir -> every problem at once (file:line: path: message), or the Desired model when none."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from jsonschema import ValidationError

from reconciler.model.desired import Desired
from reconciler.sources.documents import Built, Document, Problems, SpecError, read_tree
from reconciler.sources.kinds import (
    API_VERSION,
    CROSS_KIND_CHECKS,
    KINDS,
    address_prefixes,
    validator_for,
)

log = structlog.get_logger(__name__)
_ENVELOPE = ("apiVersion", "kind")


@dataclass(frozen=True)
class LoadResult:
    """`desired` is None whenever `errors` is not empty: a revision is accepted whole or not at all."""

    errors: tuple[SpecError, ...]
    desired: Desired | None


def _closest_alternative(error: ValidationError) -> ValidationError:
    """The alternative the user most likely meant: not one whose type differs, the deepest."""
    depth = len(error.absolute_path)
    wrong_type = [
        e for e in error.context if e.validator == "type" and len(e.absolute_path) == depth
    ]
    candidates = [e for e in error.context if e not in wrong_type] or list(error.context)
    return max(candidates, key=lambda e: len(e.absolute_path))


def schema_errors(doc: Document, error: ValidationError) -> Iterable[SpecError]:
    """One jsonschema error -> located SpecErrors; unknown keys and missing keys get their own path."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        yield from schema_errors(doc, _closest_alternative(error))
        return
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {})) if isinstance(error.schema, dict) else []
        patterns = (
            error.schema.get("patternProperties", {}) if isinstance(error.schema, dict) else {}
        )
        for key in error.instance:
            if key in known or any(re.search(p, str(key)) for p in patterns):
                continue
            hint = difflib.get_close_matches(str(key), known, n=1)
            suffix = f"; did you mean {hint[0]!r}?" if hint else ""
            yield doc.error([*path, key], f"unknown key{suffix}")
        return
    if error.validator == "required" and isinstance(error.instance, dict):
        for key in error.validator_value:
            if key not in error.instance:
                yield doc.error([*path, key], "required key is missing")
        return
    yield doc.error(path, error.message)


def check_document(doc: Document, errors: list[SpecError]) -> Built | None:
    """Envelope first (an unknown kind has no schema), then the kind's schema, then its builder."""
    data = doc.data
    if not isinstance(data, dict):
        errors.append(
            doc.error((), "a spec document must be a mapping with apiVersion, kind, metadata, spec")
        )
        return None
    for key in _ENVELOPE:
        if key not in data:
            errors.append(doc.error((key,), "required key is missing"))
    version = data.get("apiVersion", API_VERSION)
    if version != API_VERSION:
        errors.append(
            doc.error(
                ("apiVersion",), f"unsupported apiVersion {version!r}; expected {API_VERSION!r}"
            )
        )
    kind_name = data.get("kind")
    kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None or not isinstance(kind_name, str):
        if "kind" in data:
            names = ", ".join(sorted(KINDS))
            errors.append(
                doc.error(("kind",), f"unknown kind {kind_name!r}; expected one of: {names}")
            )
        return None
    before = len(errors)
    for error in validator_for(kind.schema).iter_errors(data):
        if list(error.absolute_path)[:1] == ["apiVersion"]:
            continue  # reported above with a clearer message
        errors.extend(schema_errors(doc, error))
    if len(errors) != before or version != API_VERSION:
        return None
    problems = Problems(doc)
    spec = kind.build(doc, problems)
    errors.extend(problems.errors)
    return Built(kind_name, doc, spec) if spec is not None and not problems.errors else None


def _unique_addresses(built: Sequence[Built]) -> tuple[dict[str, Built], list[SpecError]]:
    first: dict[str, Built] = {}
    errors: list[SpecError] = []
    for item in built:
        address: str = item.spec.address
        if address in first:
            other = first[address].doc
            errors.append(
                item.doc.error(
                    ("metadata", "name"),
                    f"{address} is already defined at {other.file}:{other.line}",
                )
            )
        else:
            first[address] = item
    return first, errors


def _ref_path(position: int) -> tuple[str | int, ...]:
    return ("spec", "dependsOn", position)


def _check_refs(by_address: dict[str, Built], failed_prefixes: set[str]) -> list[SpecError]:
    """Every dependsOn names a known kind and an existing spec."""
    prefixes = address_prefixes()
    errors: list[SpecError] = []
    for item in by_address.values():
        for position, ref in enumerate(item.spec.depends_on):
            prefix = ref.split("/", 1)[0]
            if prefix not in prefixes:
                known = ", ".join(sorted(prefixes))
                errors.append(
                    item.doc.error(
                        _ref_path(position), f"unknown kind {prefix!r} in {ref!r}; known: {known}"
                    )
                )
            elif ref not in by_address and prefix not in failed_prefixes:
                errors.append(
                    item.doc.error(_ref_path(position), f"unknown dependency {ref!r}: no such spec")
                )
    return errors


def _check_cycles(by_address: dict[str, Built]) -> list[SpecError]:
    """Each dependsOn cycle once, at the entry that closes it."""
    errors: list[SpecError] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    seen_cycles: set[frozenset[str]] = set()

    def visit(address: str, trail: list[str]) -> None:
        state[address] = 1
        trail.append(address)
        item = by_address[address]
        for position, ref in enumerate(item.spec.depends_on):
            if ref not in by_address:
                continue
            if state.get(ref) == 1:
                cycle = [*trail[trail.index(ref) :], ref]
                if frozenset(cycle) not in seen_cycles:
                    seen_cycles.add(frozenset(cycle))
                    errors.append(
                        item.doc.error(
                            _ref_path(position), "dependency cycle: " + " -> ".join(cycle)
                        )
                    )
            elif ref not in state:
                visit(ref, trail)
        trail.pop()
        state[address] = 2

    for address in sorted(by_address):
        if address not in state:
            visit(address, [])
    return errors


def check_documents(docs: Sequence[Document]) -> tuple[tuple[Built, ...], tuple[SpecError, ...]]:
    """Per-document checks, then rules across specs (unique addresses, kind rules, dependsOn)."""
    errors: list[SpecError] = []
    built: list[Built] = []
    failed_prefixes: set[str] = set()
    for doc in docs:
        item = check_document(doc, errors)
        if item is not None:
            built.append(item)
        elif isinstance(doc.data, dict) and doc.data.get("kind") in KINDS:
            failed_prefixes.add(KINDS[doc.data["kind"]].address_prefix)
    by_address, duplicate_errors = _unique_addresses(built)
    errors.extend(duplicate_errors)
    for name, kind in KINDS.items():
        if kind.check is not None:
            errors.extend(kind.check([item for item in built if item.kind == name]))
    for check in CROSS_KIND_CHECKS:
        errors.extend(check(built))
    errors.extend(_check_refs(by_address, failed_prefixes))
    errors.extend(_check_cycles(by_address))
    return tuple(built), tuple(errors)


def _sorted_unique(errors: Iterable[SpecError]) -> tuple[SpecError, ...]:
    return tuple(sorted(set(errors), key=lambda e: (e.file, e.line, e.path, e.message)))


def assemble(built: Sequence[Built]) -> Desired:
    """Built specs -> Desired, each collection sorted by address."""
    collections: dict[str, list[Any]] = {}
    for item in built:
        collections.setdefault(KINDS[item.kind].collection, []).append(item.spec)
    return Desired(
        **{
            name: tuple(sorted(specs, key=lambda s: s.address))
            for name, specs in collections.items()
        }
    )


def load_desired(root: Path) -> LoadResult:
    """Read, validate and build every spec under `root`; never raises for bad specs."""
    docs, read_errors = read_tree(root)
    built, check_errors = check_documents(docs)
    errors = _sorted_unique((*read_errors, *check_errors))
    log.info("specs_loaded", root=str(root), documents=len(docs), errors=len(errors))
    if errors:
        return LoadResult(errors, None)
    return LoadResult((), assemble(built))


def validate(root: Path) -> tuple[SpecError, ...]:
    """Every problem in the specs under `root`; empty when they are valid."""
    return load_desired(root).errors
