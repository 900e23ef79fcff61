"""The retention operation carried by a `delete_expired_rows` line (SDK-neutral, produced by
the differ); pure. The age travels in seconds, so the applier computes the cutoff when it runs;
the previewed count bounds what it may delete."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.plan.change import JSONValue, Operation


@dataclass(frozen=True)
class DeleteExpiredRows:
    """Delete the rows of catalog.namespace.name whose `column` is older than
    `older_than_seconds` when it runs; `previewed_rows` is the count the plan showed."""

    catalog: str
    namespace: tuple[str, ...]
    name: str
    column: str
    older_than_seconds: int
    previewed_rows: int

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "op": "delete_expired_rows",
            "catalog": self.catalog,
            "namespace": list(self.namespace),
            "name": self.name,
            "column": self.column,
            "older_than_seconds": self.older_than_seconds,
            "previewed_rows": self.previewed_rows,
        }


def _text(doc: Mapping[str, Any], key: str) -> str:
    value = doc[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} is not a non-empty string")
    return value


def _count(doc: Mapping[str, Any], key: str, minimum: int) -> int:
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key} is not an integer >= {minimum}")
    return value


def _decode(doc: Mapping[str, Any]) -> Operation:
    namespace = doc["namespace"]
    if not isinstance(namespace, list) or not all(isinstance(p, str) and p for p in namespace):
        raise ValueError("namespace is not a list of names")
    return DeleteExpiredRows(
        catalog=_text(doc, "catalog"),
        namespace=tuple(namespace),
        name=_text(doc, "name"),
        column=_text(doc, "column"),
        older_than_seconds=_count(doc, "older_than_seconds", 1),
        previewed_rows=_count(doc, "previewed_rows", 0),
    )


# JSON name ("op") -> rebuild one from its dict (see plan.operations).
DECODERS: Mapping[str, Callable[[Mapping[str, Any]], Operation]] = {"delete_expired_rows": _decode}
