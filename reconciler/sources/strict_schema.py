"""JSON Schema validators whose `pattern` matches whole strings (ASCII, no trailing newline)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    # ASCII: `\d` and `\w` mean what an editor's ECMA regex means, not every Unicode digit.
    return re.compile(pattern, re.ASCII)


def full_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """`pattern` as a full match: jsonschema's own uses `re.search`, where `$` lets a trailing
    newline through and an unanchored pattern matches anywhere."""
    if validator.is_type(instance, "string") and _compiled(pattern).fullmatch(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


StrictValidator = validators.extend(Draft202012Validator, {"pattern": full_pattern})


def strict_validator(schema: dict[str, Any]) -> Any:
    """A Draft 2020-12 validator of `schema` with whole-string patterns; the schema is checked."""
    Draft202012Validator.check_schema(schema)
    return StrictValidator(schema)
