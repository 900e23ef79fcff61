"""Decoding the operations of a saved plan back into their typed form; pure.

Each kind of resource keeps its operation types in its own module, with a
`DECODERS` map from the JSON name ("op") to a function that rebuilds one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reconciler.plan import backup_ops, container_ops, maintenance_ops, retention_ops, table_ops
from reconciler.plan.change import JSONValue, Operation

Decoder = Callable[[Mapping[str, Any]], Operation]


class OperationDecodeError(ValueError):
    """An operation object that this version cannot rebuild (message names which)."""


def _decoders() -> Mapping[str, Decoder]:
    merged: dict[str, Decoder] = {}
    for module in (container_ops, table_ops, maintenance_ops, backup_ops, retention_ops):
        for name, decoder in module.DECODERS.items():
            if name in merged:
                raise RuntimeError(f"operation name {name!r} is registered twice")
            merged[name] = decoder
    return merged


def encode_operations(operations: Sequence[Operation]) -> list[JSONValue]:
    return [op.to_dict() for op in operations]


def decode_operations(docs: object, where: str) -> tuple[Operation, ...]:
    """Rebuild `docs` (a JSON list); `where` names the plan line in errors."""
    if not isinstance(docs, list):
        raise OperationDecodeError(f"{where}.operations is not a list")
    decoders = _decoders()
    rebuilt: list[Operation] = []
    for index, doc in enumerate(docs):
        name = doc.get("op") if isinstance(doc, dict) else None
        decoder = decoders.get(name) if isinstance(name, str) else None
        if decoder is None:
            raise OperationDecodeError(f"{where}.operations[{index}]: unknown operation {name!r}")
        try:
            rebuilt.append(decoder(doc))
        except (KeyError, TypeError, ValueError) as exc:
            raise OperationDecodeError(f"{where}.operations[{index}] ({name}): {exc}") from exc
    return tuple(rebuilt)
