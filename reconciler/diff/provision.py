"""Provision, readiness and unready lines of Containers from the plan's container lines and
the recorded provision state; pure, no I/O.

A `provision` line runs the steps from the first one whose content hash, args or env
references changed (all of them for a new or never provisioned CT) and writes the login
user's authorized_keys when sshPublicKeys changed. An `await` line follows a CT's create,
start, restart or provision line, or precedes a dependent's lines: dependents start only
once the probe passes. `unready` reports a provisioned CT whose probe fails now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from reconciler.model.containers import ContainerSpec, PowerState
from reconciler.model.provisioning import ProvisionRecord, StepRecord, keys_hash, step_records
from reconciler.plan.change import Action, Change, JSONValue

# Container lines after which the CT's services may be down or not there yet.
_RUNTIME = frozenset({Action.CREATE, Action.START, Action.RESTART})
# A CT with one of these lines is not there to be provisioned or probed.
_BLOCKED = frozenset({Action.REFUSE, Action.CONFLICT, Action.UNKNOWN, Action.DELETE})


def _step_reasons(
    before: Sequence[StepRecord], after: Sequence[StepRecord]
) -> tuple[int, list[str]]:
    """(index of the first step to run, why); (len(after), []) when nothing changed."""
    reasons: list[str] = []
    first = len(after)
    for index, step in enumerate(after):
        old = before[index] if index < len(before) else None
        why = None
        if old is None:
            why = f"{step.script} added"
        elif old.script != step.script:
            why = f"step {index + 1} is now {step.script}"
        elif old.sha256 != step.sha256:
            why = f"{step.script} changed"
        elif old.inputs != step.inputs:
            why = f"{step.script} args, env or runAs changed"
        if why is not None:
            reasons.append(why)
            first = min(first, index)
    if len(before) > len(after) and not reasons:
        reasons.append(f"{len(before) - len(after)} step(s) removed")  # recorded, nothing runs
    return first, reasons


def _encoded(steps: Sequence[StepRecord]) -> list[JSONValue]:
    encoded: list[JSONValue] = []
    for step in steps:
        item: dict[str, JSONValue] = dict(step.to_dict())
        encoded.append(item)
    return encoded


def _options(
    spec: ContainerSpec, steps: Sequence[StepRecord], first: int, keys: bool
) -> tuple[tuple[str, JSONValue], ...]:
    return (
        ("vmid", spec.vmid),
        ("steps", _encoded(steps)),  # what the applier must still find in the spec
        ("from_step", first),
        ("write_keys", keys),
        ("keys", keys_hash(spec.ssh_public_keys)),
    )


def provision_line(
    spec: ContainerSpec, record: ProvisionRecord | None, created: bool
) -> Change | None:
    steps = step_records(spec)
    want_keys = keys_hash(spec.ssh_public_keys)
    if not steps and not want_keys and (record is None or not record.keys):
        return None
    if created or record is None or record.vmid != spec.vmid:
        why = "new container" if created or record is not None else "not provisioned yet"
        return Change(
            spec.address,
            Action.PROVISION,
            f"{why}: run {len(steps)} step(s)" + ("; write sshPublicKeys" if want_keys else ""),
            depends_on=spec.depends_on,
            options=_options(spec, steps, 0, bool(want_keys)),
        )
    first, reasons = _step_reasons(record.steps, steps)
    keys_changed = record.keys != want_keys
    if keys_changed:
        reasons.append("sshPublicKeys changed")
    if not reasons:
        return None
    return Change(
        spec.address,
        Action.PROVISION,
        "; ".join(reasons),
        depends_on=spec.depends_on,
        options=_options(spec, steps, first, keys_changed),
    )


def _dependents(specs: Iterable[ContainerSpec]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for spec in specs:
        for target in spec.depends_on:
            found.setdefault(target, set()).add(spec.address)
    return found


def probe_candidates(
    specs: Sequence[ContainerSpec], records: Mapping[str, ProvisionRecord]
) -> tuple[ContainerSpec, ...]:
    """Running CTs with a readiness probe that were provisioned: probed for `unready`."""
    return tuple(
        s
        for s in specs
        if s.readiness is not None and s.state is PowerState.RUNNING and s.address in records
    )


def plan_provisioning(
    specs: Sequence[ContainerSpec],
    changes: Sequence[Change],
    records: Mapping[str, ProvisionRecord],
    unready: Mapping[str, str],
) -> tuple[Change, ...]:
    """The provision, await and unready lines to add to the plan's `changes`."""
    by_address: dict[str, list[Change]] = {}
    for change in changes:
        by_address.setdefault(change.address, []).append(change)
    added: list[Change] = []
    busy: set[str] = set()  # addresses with executable lines, once provision lines are in
    for spec in specs:
        lines = by_address.get(spec.address, [])
        actions = {c.action for c in lines}
        if spec.state is not PowerState.RUNNING or actions & _BLOCKED:
            busy.update(spec.address for c in lines if c.action.executes)
            continue
        line = provision_line(spec, records.get(spec.address), Action.CREATE in actions)
        if line is not None:
            added.append(line)
            actions.add(Action.PROVISION)
        if any(a.executes for a in actions):
            busy.add(spec.address)
    waiting = _dependents(specs)
    provisioned = {c.address for c in added}
    for spec in specs:
        readiness = spec.readiness
        if readiness is None or spec.state is not PowerState.RUNNING:
            continue
        actions = {c.action for c in by_address.get(spec.address, [])} | (
            {Action.PROVISION} if spec.address in provisioned else set()
        )
        if actions & _BLOCKED:
            continue
        awaited = f"{readiness.awaited} (timeout {readiness.timeout_seconds}s)"
        by = sorted(waiting.get(spec.address, set()) & busy)
        if actions & (_RUNTIME | {Action.PROVISION}):
            reason = f"wait for {awaited}"
        elif by:
            reason = f"wait for {awaited}: awaited by {', '.join(by)}"
        elif spec.address in unready:
            added.append(
                Change(
                    spec.address,
                    Action.UNREADY,
                    f"provisioned, but {readiness.awaited} fails: {unready[spec.address]}",
                )
            )
            continue
        else:
            continue
        added.append(
            Change(
                spec.address,
                Action.AWAIT,
                reason,
                depends_on=spec.depends_on,
                options=(("awaited", readiness.awaited),),
            )
        )
    return tuple(added)
