"""The fenced JSON examples of docs/plan.md and a shape (keys and types) to compare them by."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

PLAN_MD = Path(__file__).resolve().parents[1] / "docs" / "plan.md"


def plan_md_examples() -> list[dict[str, Any]]:
    """Every ```json block of docs/plan.md, parsed (a block that does not parse fails)."""
    blocks = re.findall(r"```json\n(.*?)```", PLAN_MD.read_text(encoding="utf-8"), re.S)
    return [json.loads(block) for block in blocks]


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively; a list by its first item (items share a shape)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        shapes = [shape(v) for v in value]
        return [shapes[0]] if shapes else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__
