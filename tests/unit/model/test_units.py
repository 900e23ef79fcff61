"""Sizes and durations are parsed once, in binary units, with clear refusals."""

from __future__ import annotations

import pytest

from reconciler.model.units import (
    UnitError,
    format_bytes,
    parse_bytes,
    parse_disk_gib,
    parse_duration,
    parse_mib,
)


@pytest.mark.parametrize(
    ("value", "mib"),
    [("2GiB", 2048), ("2G", 2048), (2048, 2048), ("512MiB", 512), ("512", 512), ("1.5GiB", 1536)],
)
def test_memory_sizes(value: object, mib: int) -> None:
    assert parse_mib(value) == mib


@pytest.mark.parametrize(
    ("value", "gib"), [("20GiB", 20.0), (20, 20.0), ("512MiB", 0.5), ("1TiB", 1024.0)]
)
def test_disk_sizes_bare_numbers_are_gib(value: object, gib: float) -> None:
    assert parse_disk_gib(value) == gib


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2GB", "ambiguous .*; sizes are binary: write 2GiB"),
        ("2 gigs", "is not a size; use a number with a unit"),
        (True, "true is not a size"),
        (-1, "must not be negative"),
        ("1.5KiB", "whole number of MiB"),
    ],
)
def test_bad_sizes_are_refused_with_a_reason(value: object, message: str) -> None:
    with pytest.raises(UnitError, match=message):
        parse_mib(value)


def test_fractional_bytes_are_refused() -> None:
    with pytest.raises(UnitError, match="whole number of bytes"):
        parse_bytes("0.3B", "M")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30s", 30), ("10m", 600), ("4h", 14400), ("7d", 604800), ("1w", 604800), (90, 90)],
)
def test_durations(value: object, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["10 minutes", "1.5h", False, "-3s"])
def test_bad_durations(value: object) -> None:
    with pytest.raises(UnitError):
        parse_duration(value)


@pytest.mark.parametrize(
    ("size", "text"),
    [(20 * 1024**3, "20GiB"), (512 * 1024**2, "512MiB"), (1536 * 1024, "1536KiB"), (7, "7B")],
)
def test_format_uses_the_largest_exact_unit(size: int, text: str) -> None:
    assert format_bytes(size) == text
