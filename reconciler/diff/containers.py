"""Field-level diff of desired against observed LXC containers into plan Changes; pure.

Choices worth knowing (the case files in tests/unit/diff/cases pin each one):
- Field paths are spec terms: `memory`, `rootfs.size`, `network[<netN index>].ip`,
  `mountpoints[<mpN id>].size`, `dns.servers`, `features.nesting`, `startup.upDelay`, `tags`
  (the full PVE tag list, ownership tags included), `onBoot`; values in spec units.
- A locked CT (any `lock`, e.g. `create` after a crash) gets one `deferred` line: nothing
  executable, "will retry next cycle". An unlocked CT with CREATE_PENDING_TAG is adopted:
  diffed normally plus a `tags` update that drops the pending tag.
- The lines of a CT that exists and is ours (update, resize, restart, deferred, refuse,
  start/stop; `drift` and `ignore`) come from diff.container_update.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.diff.container_rules import TOKEN_REASON, needs_root, root_reason
from reconciler.diff.container_update import diff_existing
from reconciler.diff.container_writes import create_operation
from reconciler.diff.normalize import flatten, normalize_settings
from reconciler.diff.planner import PlanOptions, plan_unclaimed
from reconciler.model.containers import (
    ContainerSpec,
    GuestSummary,
    ObservedContainer,
    PowerState,
)
from reconciler.plan.change import Action, Change, FieldChange

__all__ = ["TOKEN_REASON", "PlanOptions", "diff_container", "plan_containers"]


def _conflict(spec: ContainerSpec, guest: GuestSummary | None) -> Change:
    kind = "VM" if guest is not None and guest.kind == "qemu" else "CT"
    where = f" ({guest.name!r} on node {guest.node})" if guest is not None else ""
    return Change(
        address=spec.address,
        action=Action.CONFLICT,
        reason=(
            f"vmid {spec.vmid} is used by {kind}{where} that the reconciler does not own; "
            "it is never touched: adopt it explicitly or choose another vmid"
        ),
        preconditions=(("vmid", spec.vmid),),
    )


def _create(spec: ContainerSpec, options: PlanOptions) -> tuple[Change, ...]:
    node = spec.node or options.default_node
    settings = normalize_settings(spec.settings, desired=True)
    flat = flatten(settings)
    fields = [FieldChange("vmid", None, spec.vmid), FieldChange("node", None, node)]
    fields.append(FieldChange("template", None, spec.template))
    fields += [FieldChange(p, None, v) for p, v in flat.items() if v is not None and v != []]
    fields.append(FieldChange("state", None, spec.state.value))
    if not options.privileged_api:
        blocked = [f for f in fields if needs_root(f.path, f.after, settings.unprivileged)]
        if blocked:
            reasons = sorted({root_reason(f.path) for f in blocked}, reverse=True)
            return (
                Change(
                    spec.address,
                    Action.REFUSE,
                    "cannot create: " + " / ".join(reasons),
                    tuple(blocked),
                    spec.depends_on,
                    (("vmid", spec.vmid),),
                ),
            )
    then = "create and start" if spec.state == PowerState.RUNNING else "create (left stopped)"
    return (
        Change(
            address=spec.address,
            action=Action.CREATE,
            reason=f"CT {spec.vmid} does not exist; {then}",
            fields=tuple(fields),
            depends_on=spec.depends_on,
            preconditions=(("vmid", spec.vmid), ("node", node)),
            operations=(create_operation(spec, node, spec.state == PowerState.RUNNING),),
        ),
    )


def diff_container(
    spec: ContainerSpec,
    observed: ObservedContainer | None,
    guest: GuestSummary | None,
    options: PlanOptions,
) -> tuple[Change, ...]:
    """All plan lines for one spec, in the order they can run one after another."""
    if guest is None and observed is None:
        return _create(spec, options)
    owned = (guest is not None and guest.owned) or (observed is not None and observed.owned)
    lock = (observed.lock if observed is not None else None) or (guest.lock if guest else None)
    # PVE writes the tags only when the create task ends: a CT locked `create` has none yet
    creating = lock == "create"
    if (guest is not None and guest.kind != "lxc") or not (owned or creating):
        return (_conflict(spec, guest),)
    if lock:
        return (
            Change(
                spec.address,
                Action.DEFERRED,
                f"CT {spec.vmid} is locked ({lock}); will retry next cycle",
                preconditions=(("vmid", spec.vmid),),
            ),
        )
    if observed is None:
        return (
            Change(
                spec.address,
                Action.REFUSE,
                f"CT {spec.vmid} exists but its config was not read; re-plan",
                preconditions=(("vmid", spec.vmid),),
            ),
        )
    return diff_existing(spec, observed, options)


def plan_containers(
    desired: tuple[ContainerSpec, ...],
    guests: tuple[GuestSummary, ...],
    observed: Mapping[int, ObservedContainer],
    options: PlanOptions,
) -> tuple[Change, ...]:
    """Every container line of one cycle: specs, then owned CTs that no spec names."""
    by_vmid = {g.vmid: g for g in guests}
    claimed: dict[int, str] = {}
    changes: list[Change] = []
    for spec in sorted(desired, key=lambda s: (s.name, s.vmid)):
        if spec.vmid in claimed:
            reason = f"vmid {spec.vmid} is also claimed by {claimed[spec.vmid]}; nothing is done"
            changes.append(
                Change(spec.address, Action.CONFLICT, reason, preconditions=(("vmid", spec.vmid),))
            )
            continue
        claimed[spec.vmid] = spec.address
        changes.extend(
            diff_container(spec, observed.get(spec.vmid), by_vmid.get(spec.vmid), options)
        )
    names = {s.name for s in desired}
    changes.extend(plan_unclaimed(guests, observed, set(claimed), names, bool(desired), options))
    return tuple(changes)
