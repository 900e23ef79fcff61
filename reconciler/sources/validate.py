"""Specs dir -> every problem of the tree in one pass (file:line: path: message), or Desired."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import structlog
from jsonschema import ValidationError

from reconciler.model.desired import Desired
from reconciler.settings import Settings
from reconciler.sources.defaults import DEFAULTS_KIND, apply_defaults
from reconciler.sources.documents import Built, Document, Problems, SpecError, read_tree
from reconciler.sources.kinds import (
    API_VERSION,
    CROSS_KIND_CHECKS,
    KINDS,
    Kind,
    address_prefixes,
    validator_for,
)
from reconciler.sources.schema_messages import SchemaProblem, schema_problems, show

log = structlog.get_logger(__name__)
_ENVELOPE = ("apiVersion", "kind")


@dataclass(frozen=True)
class LoadResult:
    """`desired` is None whenever `errors` is not empty: a revision is accepted whole or not."""

    errors: tuple[SpecError, ...]
    desired: Desired | None


def schema_errors(doc: Document, error: ValidationError) -> Iterable[SpecError]:
    """One jsonschema error -> located SpecErrors (see `schema_messages`)."""
    return (problem.error(doc) for problem in schema_problems(error))


def _pruned(data: dict[str, Any], problems: Sequence[SchemaProblem]) -> dict[str, Any]:
    """A copy of `data` without the values the schema refused, so the semantic checks can run
    on the rest. A refused list item takes its whole list along: removing only the item would
    shift the positions later messages name."""
    pruned: dict[str, Any] = copy.deepcopy(data)
    for problem in problems:
        if problem.missing or not problem.path:
            continue
        path = problem.path
        if isinstance(path[-1], int) and len(path) > 1:
            path = path[:-1]
        parent: Any = pruned
        for part in path[:-1]:
            if isinstance(parent, dict) and part in parent:  # noqa: SIM114 (mypy narrows per arm)
                parent = parent[part]
            elif isinstance(parent, list) and isinstance(part, int) and part < len(parent):
                parent = parent[part]
            else:
                parent = None
                break
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    return pruned


def _envelope(doc: Document, errors: list[SpecError]) -> Kind | None:
    """apiVersion and kind; the Kind when the document can be checked further."""
    data = doc.data
    for key in _ENVELOPE:
        if key not in data:
            errors.append(doc.error((key,), "required key is missing"))
    version = data.get("apiVersion", API_VERSION)
    if version != API_VERSION:
        errors.append(
            doc.error(
                ("apiVersion",),
                f"unsupported apiVersion {show(version)}; expected {show(API_VERSION)}",
            )
        )
    kind_name = data.get("kind")
    kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None and "kind" in data:
        names = ", ".join(sorted([*KINDS, DEFAULTS_KIND]))
        errors.append(
            doc.error(("kind",), f"unknown kind {show(kind_name)}; expected one of: {names}")
        )
    # Another apiVersion may give the same keys other meanings: check no further.
    return kind if version == API_VERSION else None


def check_one(doc: Document) -> tuple[Built | None, tuple[SpecError, ...]]:
    """Every problem of one document: envelope, schema, and the kind's own rules on what the
    schema accepted. The Built (for rules across specs) is given whenever the document names
    what it is, even when it has problems; the caller decides what that means."""
    if not isinstance(doc.data, dict):
        message = "a spec document must be a mapping with apiVersion, kind, metadata, spec"
        return None, (doc.error((), message),)
    errors: list[SpecError] = []
    kind = _envelope(doc, errors)
    if kind is None:
        return None, tuple(errors)
    found = [
        problem
        for error in validator_for(kind.schema).iter_errors(doc.data)
        if list(error.absolute_path)[:1] != ["apiVersion"]  # reported above, more clearly
        for problem in schema_problems(error)
    ]
    errors.extend(problem.error(doc) for problem in found)
    checked = replace(doc, data=_pruned(doc.data, found))
    problems = Problems(checked)
    try:
        spec = kind.build(checked, problems)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        # Only reachable with schema errors: what they left is too broken to check further.
        log.debug("semantic_checks_skipped", file=doc.file, line=doc.line, error=repr(exc))
        spec = None
    errors.extend(problems.errors)
    return (Built(doc.data["kind"], checked, spec) if spec is not None else None), tuple(errors)


def check_document(doc: Document, errors: list[SpecError]) -> Built | None:
    """One document's problems appended to `errors`; its Built only when it has none."""
    built, found = check_one(doc)
    errors.extend(found)
    return built if not found else None


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


@dataclass(frozen=True)
class CatalogNames:
    """The catalogs a config defines, and where they come from (for the message)."""

    names: frozenset[str]
    source: str = "the config"

    @classmethod
    def of(cls, settings: Settings) -> CatalogNames:
        source = str(settings.config_file) if settings.config_file else "the embedded defaults"
        return cls(frozenset(name for name, _ in settings.catalogs), source)


def check_catalogs(built: Sequence[Built], catalogs: CatalogNames) -> Iterable[SpecError]:
    """Every Table names a catalog of the config (plan could not read it otherwise)."""
    defined = ", ".join(sorted(catalogs.names)) or "none"
    for item in built:
        if item.kind == "Table" and item.spec.catalog not in catalogs.names:
            yield item.doc.error(
                ("spec", "catalog"),
                f"catalog {show(item.spec.catalog)} is not defined in {catalogs.source} "
                f"(catalogs: {defined})",
            )


def check_documents(
    docs: Sequence[Document], catalogs: CatalogNames | None = None
) -> tuple[tuple[Built, ...], tuple[SpecError, ...]]:
    """Per-document checks, then rules across specs (unique addresses, kind rules, dependsOn,
    and with `catalogs` the config's catalog names). Returns the specs of documents without
    problems, and every problem of the whole tree. Defaults documents are merged into the
    specs that name them first: every check runs on the effective specs."""
    docs, default_errors = apply_defaults(docs)
    errors: list[SpecError] = list(default_errors)
    built: list[Built] = []
    clean: list[Built] = []
    failed_prefixes: set[str] = set()
    for doc in docs:
        item, found = check_one(doc)
        errors.extend(found)
        if item is not None:
            built.append(item)  # rules across specs see it even when it has problems
            if not found:
                clean.append(item)
        elif isinstance(doc.data, dict) and doc.data.get("kind") in KINDS:
            failed_prefixes.add(KINDS[doc.data["kind"]].address_prefix)
    by_address, duplicate_errors = _unique_addresses(built)
    errors.extend(duplicate_errors)
    for name, kind in KINDS.items():
        if kind.check is not None:
            errors.extend(kind.check([item for item in built if item.kind == name]))
    for check in CROSS_KIND_CHECKS:
        errors.extend(check(built))
    if catalogs is not None:
        errors.extend(check_catalogs(built, catalogs))
    errors.extend(_check_refs(by_address, failed_prefixes))
    errors.extend(_check_cycles(by_address))
    return tuple(clean), tuple(errors)


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


def load_desired(root: Path, catalogs: CatalogNames | None = None) -> LoadResult:
    """Read, validate and build every spec under `root`; never raises for bad specs.

    `catalogs`: the config's catalogs (None: not checked). `validate` and `plan` both load
    through `load_for`, so a tree passes one exactly when it passes the other."""
    docs, read_errors = read_tree(root)
    built, check_errors = check_documents(docs, catalogs)
    errors = _sorted_unique((*read_errors, *check_errors))
    log.info("specs_loaded", root=str(root), documents=len(docs), errors=len(errors))
    if errors:
        return LoadResult(errors, None)
    return LoadResult((), assemble(built))


def load_for(settings: Settings, root: Path | None = None) -> LoadResult:
    """The specs under `root` (default: the config's `specs`), checked against `settings`:
    what `validate` and every planning command load."""
    return load_desired(root or settings.specs, CatalogNames.of(settings))


def validate(root: Path, catalogs: CatalogNames | None = None) -> tuple[SpecError, ...]:
    """Every problem in the specs under `root`; empty when they are valid."""
    return load_desired(root, catalogs).errors
