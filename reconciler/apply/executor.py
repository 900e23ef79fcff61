"""Runs a plan's executable lines: dependency order (graphlib), bounded parallelism, one
change at a time per serial key, dependents of failures skipped.

It never decides what to change (the plan did), never talks to an API itself
(Appliers do) and retries nothing: an Applier owns the retry of its calls
(apply.retry), so a TransientError reaching here means it gave up. Outcomes are
returned as values.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

from reconciler.apply.errors import PermanentError, PreconditionFailed, TransientError
from reconciler.apply.ports import Applier
from reconciler.apply.retry import reporting
from reconciler.plan.change import Action, Change, Plan
from reconciler.report.outcome import Outcome, Status

Listener = Callable[[str, Change, Outcome | None], None]


@dataclass(frozen=True)
class ExecutorOptions:
    parallelism: int = 2
    stop_requested: Callable[[], bool] = lambda: False
    clock: Callable[[], float] = time.monotonic  # measures each outcome's seconds


def _group_by_address(changes: Sequence[Change]) -> dict[str, list[Change]]:
    groups: dict[str, list[Change]] = {}
    for change in changes:
        groups.setdefault(change.address, []).append(change)
    return groups


class _SerialLocks:
    """One lock per serial key (e.g. a VMID), created on demand."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def get(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


def _applier_for(change: Change, appliers: Sequence[Applier]) -> Applier | None:
    return next((a for a in appliers if a.handles(change)), None)


def _run_one(
    change: Change, applier: Applier, clock: Callable[[], float], listener: Listener | None
) -> Outcome:
    started = clock()

    def retrying(exc: TransientError) -> None:  # the applier retries: that is progress
        if listener:
            listener("retry", change, _failed(change, Status.FAILED, str(exc), started, clock))

    try:
        with reporting(retrying):
            outcome = applier.apply(change)
    except TransientError as exc:  # the applier's own retries are spent
        return _failed(change, Status.FAILED, str(exc), started, clock)
    except PreconditionFailed as exc:
        message = f"changed since the plan, re-plan: {exc}"
        return _failed(change, Status.STALE, message, started, clock)
    except PermanentError as exc:
        return _failed(change, Status.FAILED, str(exc), started, clock)
    except Exception as exc:  # a provider bug must not abort the other resources' work
        message = f"unexpected {type(exc).__name__}: {exc}"
        return _failed(change, Status.FAILED, message, started, clock)
    return Outcome(
        change.address,
        change.action,
        outcome.status,
        outcome.message,
        round(clock() - started, 3),
        outcome.result,
    )


def _failed(
    change: Change, status: Status, message: str, started: float, clock: Callable[[], float]
) -> Outcome:
    return Outcome(change.address, change.action, status, message, round(clock() - started, 3))


def _run_group(
    changes: list[Change],
    appliers: Sequence[Applier],
    locks: _SerialLocks,
    options: ExecutorOptions,
    listener: Listener | None,
) -> list[Outcome]:
    """A resource's lines run one after another; a failure skips the rest of them."""
    outcomes: list[Outcome] = []
    for change in changes:
        if outcomes and outcomes[-1].status is not Status.APPLIED:
            outcomes.append(
                Outcome(
                    change.address,
                    change.action,
                    Status.SKIPPED,
                    "an earlier change of this resource did not apply",
                )
            )
            continue
        if options.stop_requested():
            outcomes.append(
                Outcome(change.address, change.action, Status.SKIPPED, "stop requested")
            )
            continue
        applier = _applier_for(change, appliers)
        if applier is None:
            outcomes.append(
                Outcome(
                    change.address, change.action, Status.FAILED, "no provider handles this change"
                )
            )
            continue
        with locks.get(applier.serial_key(change)):
            if listener:
                listener("start", change, None)
            outcome = _run_one(change, applier, options.clock, listener)
        if listener:
            listener("done", change, outcome)
        outcomes.append(outcome)
    return outcomes


def _not_ready(changes: Sequence[Change]) -> str | None:
    """Why a resource with report-only lines cannot serve its dependents: it is not ours
    (conflict), still being created (deferred), or its create was refused (every field new)."""
    for change in changes:
        if change.action is Action.CONFLICT:
            return "is not managed by the reconciler"
        if (
            change.action is Action.DEFERRED
            and not change.address.startswith("table/")
            and "restart" not in dict(change.options)  # a CT whose reboot waits is running
        ):
            return "is not ready yet"
        if (
            change.action is Action.REFUSE
            and change.fields
            and all(f.before is None for f in change.fields)
        ):
            return "could not be created"
    return None


def _skipped(changes: Sequence[Change], why: str) -> list[Outcome]:
    return [Outcome(c.address, c.action, Status.SKIPPED, why) for c in changes]


def _sorter(
    deps: dict[str, set[str]],
) -> tuple[TopologicalSorter[str], set[str]]:
    """A prepared sorter, and the addresses on a dependency cycle (left out of it)."""
    cyclic: set[str] = set()
    while True:
        graph = {a: d - cyclic for a, d in deps.items() if a not in cyclic}
        sorter = TopologicalSorter(graph)
        try:
            sorter.prepare()
        except CycleError as exc:  # the planner prevents this; never loop on it
            cyclic |= set(exc.args[1])
            continue
        return sorter, cyclic


def execute(
    plan: Plan,
    appliers: Sequence[Applier],
    options: ExecutorOptions | None = None,
    listener: Listener | None = None,
) -> tuple[Outcome, ...]:
    """Apply every executable line of `plan`; report-only lines produce no outcome."""
    opts = options or ExecutorOptions()
    groups = _group_by_address(plan.executable())
    held = {
        address: why
        for address, lines in _group_by_address(
            [c for c in plan.changes if not c.action.executes]
        ).items()
        if address not in groups and (why := _not_ready(lines)) is not None
    }
    deps = {
        address: {d for c in changes for d in c.depends_on if d in groups and d != address}
        for address, changes in groups.items()
    }
    order = {address: i for i, address in enumerate(groups)}  # the plan's dependency order
    sorter, cyclic = _sorter(deps)
    results = {a: _skipped(groups[a], "dependency cycle") for a in cyclic}
    succeeded = dict.fromkeys(cyclic, False)
    locks = _SerialLocks()
    running: dict[Future[list[Outcome]], str] = {}

    def why_not(address: str) -> str | None:
        holding = sorted(
            f"{d} {held[d]}" for c in groups[address] for d in c.depends_on if d in held
        )
        if holding:
            return f"skipped: dependency {'; '.join(dict.fromkeys(holding))}"
        failed = sorted(d for d in deps[address] if not succeeded.get(d, False))
        if failed:
            return f"skipped: dependency {', '.join(failed)} did not apply"
        return None

    with ThreadPoolExecutor(max_workers=max(1, opts.parallelism)) as pool:
        while sorter.is_active():
            for address in sorted(sorter.get_ready(), key=order.__getitem__):
                why = why_not(address)
                if why is not None:
                    results[address], succeeded[address] = _skipped(groups[address], why), False
                    sorter.done(address)
                    continue
                future = pool.submit(_run_group, groups[address], appliers, locks, opts, listener)
                running[future] = address
            if not running:
                continue  # every ready one was skipped: their dependents are ready now
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                address = running.pop(future)
                results[address] = future.result()
                succeeded[address] = all(o.status is Status.APPLIED for o in results[address])
                sorter.done(address)
    return tuple(o for address in groups for o in results.get(address, []))
