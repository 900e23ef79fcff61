"""Several operators on one PVE (separate state directories): whose a CT is, and which power
answers are the state we wanted, so that concurrent runs converge with true messages."""

from __future__ import annotations

from typing import Any, Protocol

from reconciler.apply.errors import PermanentError
from reconciler.model.containers import CREATE_PENDING_TAG, OWNER_TAG, GuestSummary

ALREADY_RUNNING = "already running"  # PVE: `CT 107 already running`, from the POST or the task
NOT_RUNNING = "not running"


class _Poster(Protocol):
    def post(self, path: str, **params: object) -> Any: ...


class _Waiter(Protocol):
    def wait(self, upid: str) -> object: ...


def ours(row: GuestSummary) -> bool:
    """A CT carrying our tag is ours, whichever run (or state directory) created it."""
    return row.kind == "lxc" and row.owned


def created_elsewhere(row: GuestSummary) -> bool:
    """Ours with the create finished (pending tag cleared): another run created it."""
    return ours(row) and CREATE_PENDING_TAG not in row.tags


def not_ours(row: GuestSummary) -> str:
    """The refusal for a VMID held by a guest without our tag (a true reason, named)."""
    what = "a VM" if row.kind != "lxc" else "a CT"
    return (
        f"vmid {row.vmid} is taken by {what} {row.name!r} on {row.node} that does not carry "
        f"{OWNER_TAG}; not adopting it"
    )


def created_message(vmid: int, node: str, *, adopted: bool, elsewhere: bool, started: bool) -> str:
    """A create line's report: created, adopted half-created, or created by another run."""
    tail = " and started" if started else ""
    if elsewhere:
        return f"CT {vmid} on {node} was created by another run (it carries {OWNER_TAG}){tail}"
    what = "adopted half-created" if adopted else "created"
    return f"{what} CT {vmid} on {node}{tail}"


def power(client: _Poster, waiter: _Waiter, path: str, done_text: str, **params: object) -> bool:
    """POST a power action and await its task. True when PVE answered that the CT is already in
    that state (`already running` / `not running`, synchronously or as the task's exit status:
    another operator got there first), which is success, not a failure."""
    try:
        waiter.wait(str(client.post(path, **params)))
    except PermanentError as exc:
        if done_text not in str(exc):
            raise
        return True
    return False
