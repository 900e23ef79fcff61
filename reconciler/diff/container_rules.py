"""Risk class of one container field change (live, pending, resize, refuse) and whether a
running CT may be rebooted now for its pending values (`restart`); pure."""

from __future__ import annotations

import re

from reconciler.diff.maintenance_time import window_is_open
from reconciler.diff.planner import PlanOptions
from reconciler.model.containers import ContainerSettings, ContainerSpec, RestartMode
from reconciler.plan.change import FieldChange, JSONValue
from reconciler.plan.container_fields import is_live

TOKEN_REASON = "API tokens cannot set bind mounts; use the local backend (root@pam) on the host"
FEATURE_REASON = (
    "API tokens cannot change feature flags (except nesting on an unprivileged CT); "
    "use the local backend (root@pam) on the host"
)
PENDING_REASON = "PVE keeps it pending until the CT restarts"

_MP = re.compile(r"^mountpoints\[(\d+)\]\.(\w+)$")


def root_reason(path: str) -> str:
    return TOKEN_REASON if path.endswith(".hostPath") else FEATURE_REASON


def needs_root(path: str, value: object, unprivileged: bool) -> bool:
    """Keys only root@pam may set: bind mounts; features (all but nesting if unprivileged)."""
    if path.endswith(".hostPath"):
        return value is not None
    if path.startswith("features."):
        return bool(value) and not (unprivileged and path == "features.nesting")
    return False


def _mp_volume(settings: ContainerSettings, mp_id: int) -> tuple[bool, int | None, str | None]:
    """(exists, size in bytes or None for a bind mount, storage) of mount point `mp_id`."""
    for mp in settings.mountpoints:
        if mp.id == mp_id:
            if mp.volume is None:
                return True, None, None
            return True, mp.volume.size_bytes, mp.volume.storage
    return False, None, None


def missing_opt_ins(spec_opt_in: bool, options: PlanOptions) -> list[str]:
    """Both the spec and the command line must opt in to a destructive step."""
    given = (
        ("allowDestructive: true in the spec", spec_opt_in),
        ("--allow-destructive", options.allow_destructive),
    )
    return [name for name, ok in given if not ok]


def removes_volume(path: str, desired: ContainerSettings, actual: ContainerSettings) -> bool:
    """True for a field of a volume mount point that the spec drops (its volume is detached)."""
    match = _MP.fullmatch(path)
    if match is None:
        return False
    mp_id = int(match.group(1))
    in_have, have_size, _ = _mp_volume(actual, mp_id)
    return in_have and have_size is not None and not _mp_volume(desired, mp_id)[0]


def classify(
    field: FieldChange,
    desired: ContainerSettings,
    actual: ContainerSettings,
    options: PlanOptions,
    spec_opt_in: bool = False,
) -> tuple[str, str]:
    """-> (class, reason); class is refuse, resize, live or pending.

    `spec_opt_in` is the spec's allowDestructive; destructive steps need it and the CLI flag.
    """
    path = field.path
    if path == "unprivileged":
        return "refuse", "unprivileged is fixed when a CT is created; it needs a new CT"
    if path == "ostype":
        return "refuse", "the template changed (ostype differs); that needs a new CT"
    if path == "node":
        return "refuse", "moving a CT to another node (migration) is not done automatically"
    if path == "rootfs.storage":
        return "refuse", "the rootfs storage of an existing CT cannot change"
    if path == "rootfs.size":
        assert desired.rootfs is not None and actual.rootfs is not None
        if desired.rootfs.storage != actual.rootfs.storage:
            return "refuse", "the rootfs storage of an existing CT cannot change"
        return _size_class(actual.rootfs.size_bytes, desired.rootfs.size_bytes, "rootfs")
    if path.startswith("features."):
        if not options.privileged_api and needs_root(path, True, actual.unprivileged):
            return "refuse", FEATURE_REASON
        return "pending", PENDING_REASON
    if path.startswith("dns."):
        return "pending", PENDING_REASON
    match = _MP.fullmatch(path)
    if match is not None:
        mp_id, key = int(match.group(1)), match.group(2)
        return _classify_mp(mp_id, key, desired, actual, options, spec_opt_in)
    if is_live(path):  # the registry says PVE applies it to a running CT at once
        return "live", ""
    return "pending", PENDING_REASON


def _size_class(before: int, after: int, disk: str) -> tuple[str, str]:
    if after > before:
        return "resize", f"{disk} grows"
    return "refuse", f"{disk} would shrink; PVE cannot shrink a disk"


def _classify_mp(
    mp_id: int,
    key: str,
    desired: ContainerSettings,
    actual: ContainerSettings,
    options: PlanOptions,
    spec_opt_in: bool,
) -> tuple[str, str]:
    in_want, want_size, want_storage = _mp_volume(desired, mp_id)
    in_have, have_size, have_storage = _mp_volume(actual, mp_id)
    disk = f"mountpoints[{mp_id}]"
    bind = (in_want and want_size is None) or (in_have and have_size is None)
    if bind and not options.privileged_api:
        return "refuse", TOKEN_REASON
    if not in_have:
        return "live", ""  # a new mount point is hot-plugged
    if not in_want:
        missing = missing_opt_ins(spec_opt_in, options) if have_size is not None else []
        if missing:
            return "refuse", (
                f"refused, destructive (needs {' and '.join(missing)}): "
                f"removing {disk} detaches its volume from the CT"
            )
        return "pending", PENDING_REASON
    if (want_size is None) != (have_size is None):
        return "refuse", f"{disk} cannot change between a volume and a bind mount"
    if key == "storage":
        return "refuse", f"the storage of {disk} cannot change"
    if key == "size" and want_size is not None and have_size is not None:
        if want_storage != have_storage:
            return "refuse", f"the storage of {disk} cannot change"
        return _size_class(have_size, want_size, disk)
    if key == "backup":
        return "live", ""
    return "pending", PENDING_REASON


def restart_why(spec: ContainerSpec, options: PlanOptions) -> str:
    """Which opt-in allows this reboot, for the restart line's reason."""
    if spec.restart is RestartMode.AUTO:
        return " (restart: auto)"
    if spec.restart is RestartMode.WINDOW:
        return " (restart: window, inside the window)"
    return " (--allow-restart)" if options.allow_restart else ""


def restart_blocked(
    spec: ContainerSpec, options: PlanOptions
) -> tuple[str, tuple[tuple[str, JSONValue], ...]] | None:
    """None when the CT may be rebooted now; else (why not, options of the deferred line).

    `--allow-restart` overrides every mode; `window` reboots only while its window is open
    at the injected `now` (no clock: treated as closed, never a surprise reboot)."""
    if options.allow_restart or spec.restart is RestartMode.AUTO:
        return None
    hint = f"reconcile apply --allow-restart --target {spec.address}"
    window = spec.restart_window
    if spec.restart is RestartMode.WINDOW and window is not None:
        if options.now is not None:
            is_open, next_start = window_is_open(window, options.now)
            if is_open:
                return None
            when = next_start.isoformat()
            why = (
                f"restart: window, outside the window '{window.schedule}' {window.timezone}; "
                f"next window starts {when}, or {hint}"
            )
            return why, (("restart", "window"), ("next_window", when))
        return f"restart: window, no clock to check the window; or {hint}", (("restart", "window"),)
    why = f"restart: manual, the reconciler never reboots it: reboot it yourself or {hint}"
    return why, (("restart", "manual"),)
