"""Data file sizes of a table bucketed for a histogram (the HTML report); pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

KIB, MIB = 1024, 1024 * 1024
# Upper bounds (exclusive) of every bucket but the last; 32 MiB is smallFileSize's default,
# so small files and the rest fall on either side of an edge.
EDGES: tuple[int, ...] = (64 * KIB, MIB, 8 * MIB, 32 * MIB, 128 * MIB, 512 * MIB)


@dataclass(frozen=True)
class SizeBucket:
    """Data files with `low <= file_size_in_bytes < high` (high None: no upper bound)."""

    low: int
    high: int | None
    files: int = 0
    bytes: int = 0

    @property
    def label(self) -> str:
        if self.high is None:
            return f">= {_short(self.low)}"
        return (
            f"< {_short(self.high)}" if self.low == 0 else f"{_short(self.low)}-{_short(self.high)}"
        )

    @property
    def axis(self) -> str:
        """A compact label for a histogram axis: `<64K`, `1-8M`, `>=512M`."""
        if self.high is None:
            return f">={_tiny(self.low)}"
        return f"<{_tiny(self.high)}" if self.low == 0 else f"{_tiny(self.low)}-{_tiny(self.high)}"


def _tiny(size: int) -> str:
    return f"{size // MIB}M" if size >= MIB else f"{size // KIB}K"


def _short(size: int) -> str:
    return f"{size // MIB} MiB" if size >= MIB else f"{size // KIB} KiB"


def histogram(sizes: Iterable[int], edges: tuple[int, ...] = EDGES) -> tuple[SizeBucket, ...]:
    """Every bucket, empty ones included (a report compares tables bar by bar)."""
    lows = (0, *edges)
    files = [0] * len(lows)
    total = [0] * len(lows)
    for size in sizes:
        index = sum(1 for edge in edges if size >= edge)
        files[index] += 1
        total[index] += size
    highs: tuple[int | None, ...] = (*edges, None)
    return tuple(
        SizeBucket(low, high, n, b)
        for low, high, n, b in zip(lows, highs, files, total, strict=True)
    )
