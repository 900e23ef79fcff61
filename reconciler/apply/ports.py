"""Ports between the executor and the providers that do the writing; no implementations here."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from reconciler.plan.change import Change
from reconciler.report.outcome import Outcome


class Applier(Protocol):
    """Turns one executable plan line into provider calls.

    It carries out the line's operations after checking its preconditions; it never
    sees the desired model. Raises `apply.errors` exceptions; anything else is a bug.
    Returns an Outcome on success (with `result` filled where there is one).
    """

    def handles(self, change: Change) -> bool: ...

    def apply(self, change: Change) -> Outcome: ...

    def serial_key(self, change: Change) -> str:
        """Changes with the same key never run concurrently (e.g. the CT's VMID)."""
        ...


@runtime_checkable
class Closing(Protocol):
    """An applier holding something for the whole apply (a shared Spark application): it is
    closed once every line has run or been skipped."""

    def close(self) -> None: ...
