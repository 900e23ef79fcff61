"""The backup operation carried by a `backup` plan line (SDK-neutral, produced by the differ);
pure. It names the table and the target in full, so the applier needs no desired model and a
saved plan keeps its meaning."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.plan.change import JSONValue, Operation

_OPTIONAL = (
    "endpoint",
    "region",
    "access_key_id_env",
    "secret_access_key_env",
    "session_token_env",
)


@dataclass(frozen=True)
class ExportBackup:
    """Export the current snapshot of catalog.namespace.name under `target`, then keep the
    newest `keep_last` complete backups. Credentials are environment variable names."""

    catalog: str
    namespace: tuple[str, ...]
    name: str
    target: str
    keep_last: int
    endpoint: str | None = None
    region: str | None = None
    access_key_id_env: str | None = None
    secret_access_key_env: str | None = None
    session_token_env: str | None = None

    def to_dict(self) -> dict[str, JSONValue]:
        doc: dict[str, JSONValue] = {
            "op": "export_backup",
            "catalog": self.catalog,
            "namespace": list(self.namespace),
            "name": self.name,
            "target": self.target,
            "keep_last": self.keep_last,
        }
        for key in _OPTIONAL:
            if (value := getattr(self, key)) is not None:
                doc[key] = value
        return doc


def _text(doc: Mapping[str, Any], key: str) -> str:
    value = doc[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} is not a non-empty string")
    return value


def _decode(doc: Mapping[str, Any]) -> Operation:
    namespace = doc["namespace"]
    if not isinstance(namespace, list) or not all(isinstance(p, str) and p for p in namespace):
        raise ValueError("namespace is not a list of names")
    keep = doc["keep_last"]
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ValueError("keep_last is not a positive integer")
    optional = {key: _text(doc, key) for key in _OPTIONAL if doc.get(key) is not None}
    return ExportBackup(
        catalog=_text(doc, "catalog"),
        namespace=tuple(namespace),
        name=_text(doc, "name"),
        target=_text(doc, "target"),
        keep_last=keep,
        **optional,
    )


# JSON name ("op") -> rebuild one from its dict (see plan.operations).
DECODERS: Mapping[str, Callable[[Mapping[str, Any]], Operation]] = {"export_backup": _decode}
