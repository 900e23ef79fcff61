"""A Container's `ignore` entries must name plan paths; the paths come from the planner itself."""

from __future__ import annotations

import difflib
import re
from functools import cache

from reconciler.diff.normalize import flatten, ignore_matcher
from reconciler.model.containers import (
    ContainerSettings,
    MountPoint,
    NetworkInterface,
    Startup,
    Volume,
)
from reconciler.sources.documents import PathKey, Problems
from reconciler.sources.schema_messages import show

# Paths the planner compares outside the flattened settings.
EXTRA_PATHS = ("node", "state", "tags")
_INDEX = re.compile(r"\[(\d+|\*)\]")


@cache
def known_paths() -> tuple[str, ...]:
    """Every plan path (mount point and NIC id 0) of a fully set sample."""
    sample = ContainerSettings(
        hostname="h",
        rootfs=Volume("s", 1),
        mountpoints=(MountPoint(0, "/p", Volume("s", 1)),),
        network=(NetworkInterface(0, "eth0", "vmbr0"),),
        startup=Startup(1, 1, 1),
    )
    paths = set(flatten(sample)) | set(EXTRA_PATHS)
    return tuple(sorted(paths))


def ignore_problem(entry: str) -> str | None:
    """None when `entry` ignores at least one plan path; otherwise the message."""
    matcher = ignore_matcher([_INDEX.sub("[0]", entry)])
    if matcher is not None and any(matcher.fullmatch(path) for path in known_paths()):
        return None
    shown = {path.replace("[0]", "[*]") for path in known_paths()}
    shown |= {re.split(r"[.\[]", path, maxsplit=1)[0] for path in shown}
    hint = difflib.get_close_matches(_INDEX.sub("[*]", entry), sorted(shown), n=1)
    suffix = f"; did you mean {show(hint[0])}?" if hint else ""
    return (
        f"{show(entry)} names no field (ignore takes plan paths such as memory or "
        f"network[*].hwaddr, or a prefix such as network){suffix}"
    )


def check_ignore(problems: Problems, entries: list[str]) -> None:
    """Report each `spec.ignore` entry that would silently ignore nothing."""
    for position, entry in enumerate(entries):
        if not isinstance(entry, str):
            continue  # the schema reports it
        message = ignore_problem(entry)
        if message is not None:
            path: PathKey = ("spec", "ignore", position)
            problems.add(path, message)
