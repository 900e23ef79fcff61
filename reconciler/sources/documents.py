"""Spec files -> YAML documents with a line per field; safe_load semantics, size and alias caps."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from reconciler.sources.tree import MAX_FILE_BYTES, read_bounded, scan_tree

MAX_NODES = 20_000  # composed nodes per file; a large Table spec has a few thousand
MAX_ALIASES = 100  # alias references per file
MAX_EXPANDED = 100_000  # nodes per document once aliases are expanded (billion laughs)
MAX_DEPTH = 64  # nesting; every walk below recurses, so this also bounds the stack
SPEC_SUFFIXES = (".yaml", ".yml")
CONFIG_NAMES = ("reconciler.yaml", "reconciler.yml")  # the config file is never a spec

PathKey = tuple[str | int, ...]
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class SpecError:
    """One problem in a spec or config file, located by file, line and field path."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        if not self.path:
            return f"{self.file}:{self.line}: {self.message}"
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


def format_path(path: PathKey | list[Any]) -> str:
    """`("spec", "network", 0, "gateway")` -> `spec.network[0].gateway`."""
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        elif isinstance(part, str) and _IDENT.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{str(part)!r}]"
    return text


@dataclass(frozen=True)
class Origin:
    """Where a value of an effective spec was written: another file's line and field path."""

    file: str
    line: int
    path: PathKey


@dataclass(frozen=True)
class Document:
    """One YAML document: plain data plus the line of every field (1-based).

    `origins` holds the fields another document gave (Defaults): their file, line and path."""

    file: str
    index: int
    line: int
    data: Any
    lines: Mapping[PathKey, int] = field(default_factory=dict)
    origins: Mapping[PathKey, Origin] = field(default_factory=dict)
    root: str = ""  # the specs tree it was read from (files a spec names must stay inside)

    def locate(self, path: PathKey | list[Any]) -> Origin:
        """File, line and path (in that file) of the deepest known node on `path`."""
        full = tuple(path)
        key = full
        while key:
            origin = self.origins.get(key)
            if origin is not None:
                return Origin(origin.file, origin.line, origin.path + full[len(key) :])
            if key in self.lines:
                return Origin(self.file, self.lines[key], full)
            key = key[:-1]
        return Origin(self.file, self.line, full)

    def line_of(self, path: PathKey | list[Any]) -> int:
        """Line of the deepest known node on `path` (the document start at worst)."""
        return self.locate(path).line

    def error(self, path: PathKey | list[Any], message: str) -> SpecError:
        where = self.locate(path)
        return SpecError(where.file, where.line, format_path(where.path), message)


@dataclass
class Problems:
    """Collects the problems of one document; builders report through it."""

    doc: Document
    errors: list[SpecError] = field(default_factory=list)

    def add(self, path: PathKey, message: str) -> None:
        self.errors.append(self.doc.error(path, message))


@dataclass(frozen=True)
class Built:
    """A document and the spec built from it (`spec.address`, `spec.depends_on` are required)."""

    kind: str
    doc: Document
    spec: Any


class LimitError(yaml.MarkedYAMLError):
    """A file that is too big or too aliased to compose safely."""


def _safe_loader_class() -> type[Any]:
    """safe_load's classes, with libyaml producing the events when it is installed and Python
    composing them, so the caps below run per node (libyaml's own composer has no hook)."""
    if not yaml.__with_libyaml__:
        return yaml.SafeLoader
    from yaml._yaml import CParser

    class FastSafeLoader(Composer, CParser, SafeConstructor, Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    return FastSafeLoader


class _LineLoader(_safe_loader_class()):  # type: ignore[misc]
    """A safe loader that counts nodes and aliases and rejects recursive anchors while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._node_count = 0
        self._alias_count = 0
        self._open_anchors: set[str] = set()
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> Any:
        event: Any = self.peek_event()
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            self._alias_count += 1
            if self._alias_count > MAX_ALIASES:
                raise LimitError(None, None, f"more than {MAX_ALIASES} aliases", mark)
            if event.anchor in self._open_anchors:
                raise LimitError(None, None, "recursive alias is not allowed", mark)
            return super().compose_node(parent, index)
        self._node_count += 1
        if self._node_count > MAX_NODES:
            raise LimitError(None, None, f"more than {MAX_NODES} YAML nodes", mark)
        if self._depth >= MAX_DEPTH:
            raise LimitError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open_anchors.add(anchor)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open_anchors.discard(anchor)


def _expanded_shape(node: yaml.Node, memo: dict[int, tuple[int, int]]) -> tuple[int, int]:
    """(node count, depth) with aliases expanded; memoised so a bomb is measured, not walked."""
    known = memo.get(id(node))
    if known is not None:
        return known
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    shapes = [_expanded_shape(child, memo) for child in children]
    shape = (1 + sum(s[0] for s in shapes), 1 + max((s[1] for s in shapes), default=0))
    memo[id(node)] = shape
    return shape


def _record_lines(node: yaml.Node, path: PathKey, lines: dict[PathKey, int]) -> None:
    """Map each field path to its line: a key's line for mapping values, the item's for lists."""
    if isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            child_path = (*path, index)
            lines[child_path] = child.start_mark.line + 1
            _record_lines(child, child_path, lines)
    elif isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            lines[(*path, key)] = key_node.start_mark.line + 1
            _record_lines(value_node, (*path, key), lines)


def _check_keys(node: yaml.Node, path: PathKey, seen: set[int], found: list[SpecError]) -> None:
    """Keys that are not strings or given twice (safe_load would keep the last); before merging."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _check_keys(child, (*path, index), seen, found)
    elif isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            where = ("", key_node.start_mark.line + 1, format_path((*path, key)))
            if not key_node.tag.endswith((":str", ":merge")):
                found.append(SpecError(*where, "keys must be strings; quote it"))
            elif key in keys:
                found.append(SpecError(*where, "duplicate key"))
            keys.add(key)
            _check_keys(value_node, (*path, key), seen, found)


def _build_document(
    loader: _LineLoader, node: yaml.Node, display: str, index: int, errors: list[SpecError]
) -> Document | None:
    start = node.start_mark.line + 1
    size, depth = _expanded_shape(node, {})
    too_big = f"more than {MAX_EXPANDED} nodes" if size > MAX_EXPANDED else None
    too_deep = f"deeper than {MAX_DEPTH} levels" if depth > MAX_DEPTH else None
    if too_big or too_deep:
        message = f"document expands to {too_big or too_deep} through aliases; refused"
        errors.append(SpecError(display, start, "", message))
        return None
    key_errors: list[SpecError] = []
    _check_keys(node, (), set(), key_errors)
    errors.extend(replace(error, file=display) for error in key_errors)
    data = loader.construct_document(node)  # merges `<<` into node.value, so map lines after
    lines: dict[PathKey, int] = {}
    _record_lines(node, (), lines)
    return Document(display, index, start, data, lines)


def parse_documents(text: str, display: str) -> tuple[tuple[Document, ...], tuple[SpecError, ...]]:
    """All documents of one YAML stream; a syntax error ends the stream with a located error."""
    docs: list[Document] = []
    errors: list[SpecError] = []
    loader = _LineLoader(text)
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            doc = _build_document(loader, node, display, index, errors)
            index += 1
            if doc is not None and doc.data is not None:
                docs.append(doc)
    except LimitError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        errors.append(SpecError(display, line, "", f"{exc.problem}; refused"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        detail = "; ".join(part for part in (exc.context, exc.problem) if part)
        # Constructor errors are well-formed YAML that safe_load refuses (e.g. !!python tags).
        unsupported = isinstance(exc, yaml.constructor.ConstructorError)
        what = "unsupported YAML" if unsupported else "YAML syntax error"
        errors.append(SpecError(display, line, "", f"{what}: {detail}"))
    except yaml.YAMLError as exc:
        errors.append(SpecError(display, 1, "", f"YAML error: {exc}"))
    finally:
        loader.dispose()
    return tuple(docs), tuple(errors)


def read_file(path: Path, display: str) -> tuple[tuple[Document, ...], tuple[SpecError, ...]]:
    """Read one spec file with the size cap, then parse it."""
    try:
        raw = read_bounded(path)
    except OSError as exc:
        return (), (SpecError(display, 1, "", f"cannot read file: {exc.strerror or exc}"),)
    if len(raw) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // 1024
        return (), (SpecError(display, 1, "", f"file is larger than {limit} KiB; refused"),)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (), (SpecError(display, 1, "", f"file is not UTF-8: {exc.reason}"),)
    return parse_documents(text, display)


def read_tree(root: Path) -> tuple[tuple[Document, ...], tuple[SpecError, ...]]:
    """Every document of every spec file under `root`, with every read/parse problem."""
    if not root.is_dir():
        return (), (SpecError(str(root), 0, "", "specs directory does not exist"),)
    docs: list[Document] = []
    files, problems = scan_tree(root)  # every file the daemon would copy, not only specs
    errors = [SpecError(str(problem.path), 1, "", problem.message) for problem in problems]
    for file in files:
        relative = file.path.relative_to(root)
        is_config = len(relative.parts) == 1 and file.path.name in CONFIG_NAMES
        if file.path.suffix in SPEC_SUFFIXES and not is_config:
            file_docs, file_errors = read_file(file.real, str(file.path))
            docs.extend(replace(doc, root=str(root)) for doc in file_docs)
            errors.extend(file_errors)
    return tuple(docs), tuple(errors)
