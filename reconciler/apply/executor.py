"""Runs a plan's executable lines: dependency order, bounded parallelism, one change at a
time per serial key, retries on transient errors, dependents of failures skipped.

It never decides what to change (the plan did) and never talks to an API itself
(Appliers do); outcomes are returned as values.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from reconciler.apply.errors import PermanentError, PreconditionFailed, TransientError
from reconciler.apply.ports import Applier
from reconciler.plan.change import Action, Change, Plan
from reconciler.report.outcome import Outcome, Status

Listener = Callable[[str, Change, Outcome | None], None]


@dataclass(frozen=True)
class ExecutorOptions:
    parallelism: int = 2
    retries: int = 4
    max_backoff: float = 30.0
    stop_requested: Callable[[], bool] = lambda: False


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
    change: Change, applier: Applier, options: ExecutorOptions, listener: Listener | None
) -> Outcome:
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            outcome = applier.apply(change)
            return Outcome(
                change.address,
                change.action,
                outcome.status,
                outcome.message,
                round(time.monotonic() - started, 3),
                outcome.result,
            )
        except TransientError as exc:
            attempt += 1
            budget = 0 if applier.retries_inside else options.retries
            if attempt > budget or options.stop_requested():
                said = (
                    str(exc)
                    if applier.retries_inside
                    else f"gave up after {attempt} attempts: {exc}"
                )
                return _failed(change, Status.FAILED, said, started)
            delay = min(options.max_backoff, exc.delay * 2 ** (attempt - 1))
            delay *= 0.5 + random.random()  # jitter so parallel retries do not align
            if listener:
                listener("retry", change, _failed(change, Status.FAILED, str(exc), started))
            time.sleep(delay)
        except PreconditionFailed as exc:
            return _failed(change, Status.STALE, f"changed since the plan, re-plan: {exc}", started)
        except PermanentError as exc:
            return _failed(change, Status.FAILED, str(exc), started)
        except Exception as exc:  # a provider bug must not abort the other resources' work
            return _failed(
                change, Status.FAILED, f"unexpected {type(exc).__name__}: {exc}", started
            )


def _failed(change: Change, status: Status, message: str, started: float) -> Outcome:
    return Outcome(
        change.address, change.action, status, message, round(time.monotonic() - started, 3)
    )


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
            outcome = _run_one(change, applier, options, listener)
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
    order = list(groups)  # the plan is already in dependency order
    done: dict[str, bool] = {}  # address -> succeeded
    results: dict[str, list[Outcome]] = {}
    locks = _SerialLocks()
    running: dict[Future[list[Outcome]], str] = {}
    with ThreadPoolExecutor(max_workers=max(1, opts.parallelism)) as pool:
        while len(done) < len(groups):
            settled = len(done)
            for address in order:
                if address in done or address in running.values():
                    continue
                holding = sorted(
                    f"{d} {held[d]}" for c in groups[address] for d in c.depends_on if d in held
                )
                if holding:
                    results[address] = [
                        Outcome(
                            c.address,
                            c.action,
                            Status.SKIPPED,
                            f"skipped: dependency {'; '.join(dict.fromkeys(holding))}",
                        )
                        for c in groups[address]
                    ]
                    done[address] = False
                    continue
                if not deps[address] <= done.keys():
                    continue
                failed = sorted(d for d in deps[address] if not done[d])
                if failed:
                    results[address] = [
                        Outcome(
                            c.address,
                            c.action,
                            Status.SKIPPED,
                            f"skipped: dependency {', '.join(failed)} did not apply",
                        )
                        for c in groups[address]
                    ]
                    done[address] = False
                    continue
                future = pool.submit(_run_group, groups[address], appliers, locks, opts, listener)
                running[future] = address
            if not running:
                if len(done) > settled:
                    continue
                if len(done) < len(groups):  # a dependency cycle: the planner prevents this
                    for address in order:
                        if address not in done:
                            results[address] = [
                                Outcome(c.address, c.action, Status.SKIPPED, "dependency cycle")
                                for c in groups[address]
                            ]
                            done[address] = False
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                address = running.pop(future)
                results[address] = future.result()
                done[address] = all(o.status is Status.APPLIED for o in results[address])
    return tuple(o for address in order for o in results.get(address, []))
