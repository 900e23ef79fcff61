"""Container operations carried by plan lines (SDK-neutral, produced by the differ); pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reconciler.plan.change import Operation

# JSON name ("op") -> rebuild one from its dict (see plan.operations).
DECODERS: Mapping[str, Callable[[Mapping[str, Any]], Operation]] = {}
