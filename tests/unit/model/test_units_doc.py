"""The unit rules of docs/specs.md are the parser's: each example row is checked for real."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from reconciler.model.units import UnitError, parse_bytes, parse_disk_gib, parse_duration, parse_mib

DOC = Path(__file__).resolve().parents[3] / "docs" / "specs.md"
PARSERS: dict[str, tuple[Callable[[object], float], str]] = {
    "memory": (parse_mib, "MiB"),
    "disk": (parse_disk_gib, "GiB"),
    "policy size": (lambda value: parse_bytes(value, "M"), "bytes"),  # as build_policies
    "duration": (parse_duration, "s"),
}


def _rows() -> list[tuple[str, str, str]]:
    """(written, as, means) of the table under `## Units` headed `| written | as | means |`."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Units\n", 1)[1].split("\n## ", 1)[0]
    table = section.split("| written | as | means |\n| --- | --- | --- |\n", 1)[1]
    rows = []
    for line in table.splitlines():
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows.append((cells[0].strip("`"), cells[1], cells[2]))
    return rows


def test_the_doc_has_the_table() -> None:
    rows = _rows()
    assert len(rows) >= 20
    assert {kind for _, kind, _ in rows} == set(PARSERS)
    assert any(means.startswith("refused") for _, _, means in rows)


@pytest.mark.parametrize(("written", "kind", "means"), _rows(), ids=lambda v: str(v))
def test_each_documented_example_parses_as_documented(written: str, kind: str, means: str) -> None:
    parse, unit = PARSERS[kind]
    value = yaml.safe_load(f"x: {written}")["x"]  # as it would arrive from a spec file
    refused = re.fullmatch(r"refused: (.+)", means)
    if refused:
        with pytest.raises(UnitError, match=re.escape(refused.group(1))):
            parse(value)
        return
    number, shown_unit = means.split(" ")
    assert shown_unit == unit, f"{means}: {kind} is in {unit}"
    assert parse(value) == float(number)


def test_decimal_units_are_refused_with_the_binary_spelling() -> None:
    for written, fixed in (("2GB", "2GiB"), ("500mb", "500MiB"), ("1 TB", "1TiB"), ("4kb", "4KiB")):
        with pytest.raises(UnitError, match=f"write {fixed}$"):
            parse_bytes(written, "M")
