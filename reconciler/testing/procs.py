"""Java processes below a process, read from /proc: a test or bench checks no JVM ran."""

from __future__ import annotations

from pathlib import Path


def _table(proc: Path) -> tuple[dict[int, int], dict[int, str]]:
    """(pid -> parent pid, pid -> command name) of every process readable now."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited since the listing
            continue
        pid = int(entry.name)
        # The name is in parentheses and may hold spaces or ')': cut at the last one.
        names[pid] = stat[stat.index("(") + 1 : stat.rindex(")")]
        parents[pid] = int(stat[stat.rindex(")") + 2 :].split()[1])
    return parents, names


def java_descendants(
    root: int, exclude: int | None = None, proc: Path = Path("/proc")
) -> list[str]:
    """ "pid name" of each java process below `root`, leaving out `exclude` and its own tree
    (e.g. a Spark Connect server a test started itself)."""
    parents, names = _table(proc)
    found: list[str] = []
    for pid, name in names.items():
        if "java" not in name or pid == exclude:
            continue
        ancestor = parents.get(pid, 0)
        while ancestor > 1 and ancestor != exclude:
            if ancestor == root:
                found.append(f"{pid} {name}")
                break
            ancestor = parents.get(ancestor, 0)
    return found
