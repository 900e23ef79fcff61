"""Plan lines of a CT that exists and is ours: field changes classified into lines; pure.

Choices worth knowing (the case files in tests/unit/diff/cases pin each one):
- Lines of one CT: update (live keys), resize (one per disk), restart (pending keys on a CT
  that stays running, or keys PVE already holds pending), then start/stop. The restart line
  exists only when the spec opts in (`restart: auto`, `window` while its window is open at
  `options.now`) or with `--allow-restart`; otherwise the pending keys are written by an
  update line (PVE keeps them pending) and a `deferred` line says why no reboot happens
  (`next_window` in its options for `window`). Every such line
  carries the digest read at plan time, so an applier running several lines of one CT must
  expect the digest its own earlier line produced.
- Every executable line carries its PVE operations (diff.container_writes) next to its
  display `fields`; the applier sends exactly those.
- `drift: ignore` drops every line of an existing CT except the `tags` update that drops
  CREATE_PENDING_TAG from an adopted CT;
  `drift: warn` yields the same lines as enforce. `ignore` entries match a path or its
  prefix (`network`, `network[*].hwaddr`); `state` and `node` may be ignored too.
- Refused (report-only) while the rest of the CT still converges: disk shrink, template
  (ostype) / unprivileged / rootfs or mount point storage change, node change, removal of a
  volume mount point (allowed only with allowDestructive: true in the spec AND
  --allow-destructive; that line then carries the option `allow_destructive`), and
  root@pam-only keys with a token.
"""

from __future__ import annotations

from dataclasses import replace

from reconciler.diff.container_rules import (
    PENDING_REASON,
    classify,
    removes_volume,
    restart_blocked,
    restart_why,
)
from reconciler.diff.container_writes import config_operations, resize_operation
from reconciler.diff.normalize import (
    flatten,
    ignore_matcher,
    is_ignored,
    normalize_settings,
    ostype_from_template,
)
from reconciler.diff.planner import PlanOptions
from reconciler.model.containers import (
    CREATE_PENDING_TAG,
    ContainerSettings,
    ContainerSpec,
    DriftMode,
    ObservedContainer,
    PowerState,
)
from reconciler.plan.change import Action, Change, FieldChange
from reconciler.plan.container_ops import Power

__all__ = ["diff_existing"]


def _desired_settings(spec: ContainerSpec) -> ContainerSettings:
    settings = normalize_settings(spec.settings, desired=True)
    if settings.ostype is None:  # PVE detects ostype from the template: a change means a new one
        settings = replace(settings, ostype=ostype_from_template(spec.template))
    return settings


def _field_changes(
    spec: ContainerSpec, desired: ContainerSettings, actual: ContainerSettings
) -> list[FieldChange]:
    want, have = flatten(desired), flatten(actual)
    matcher = ignore_matcher(spec.ignore)
    fields: list[FieldChange] = []
    for path in [*want, *(p for p in have if p not in want)]:
        after, before = want.get(path), have.get(path)
        if after == before or is_ignored(path, matcher) or path == "tags":
            continue
        if after is None and (path == "ostype" or path.endswith(".hwaddr")):
            continue  # computed by PVE; the spec leaves it open
        if desired.rootfs is None and path.startswith("rootfs."):
            continue  # the spec leaves the root disk to PVE's default
        fields.append(FieldChange(path, before, after))
    want_tags = list(desired.tags)
    if is_ignored("tags", matcher):
        want_tags = [t for t in actual.tags if t != CREATE_PENDING_TAG]
    if want_tags != list(actual.tags):
        fields.append(FieldChange("tags", list(actual.tags), list(want_tags)))
    return fields


def diff_existing(
    spec: ContainerSpec, observed: ObservedContainer, options: PlanOptions
) -> tuple[Change, ...]:
    """Refuse, update, resize, restart or deferred, then start/stop lines, in run order."""
    desired = _desired_settings(spec)
    actual = normalize_settings(observed.settings, desired=False)
    matcher = ignore_matcher(spec.ignore)
    fields = _field_changes(spec, desired, actual)
    if spec.node is not None and spec.node != observed.node and not is_ignored("node", matcher):
        fields.insert(0, FieldChange("node", observed.node, spec.node))
    adopting = observed.create_pending
    if spec.drift == DriftMode.IGNORE:
        fields = [f for f in fields if f.path == "tags"] if adopting else []
    refused: dict[str, list[FieldChange]] = {}
    live: list[FieldChange] = []
    pending: list[FieldChange] = []
    resizes: list[tuple[FieldChange, str]] = []
    for field in fields:
        kind, reason = classify(field, desired, actual, options, spec.allow_destructive)
        if kind == "refuse":
            refused.setdefault(reason, []).append(field)
        elif kind == "resize":
            resizes.append((field, reason))
        else:
            (live if kind == "live" else pending).append(field)

    running = observed.status == PowerState.RUNNING
    want_state = spec.state
    if spec.drift == DriftMode.IGNORE or is_ignored("state", matcher):
        want_state = observed.status
    stays_running = running and want_state == PowerState.RUNNING
    if not stays_running:  # a stopped CT takes all keys at once; PVE applies pending at start
        live, pending = live + pending, []

    vmid, node = observed.vmid, observed.node
    guarded = (("digest", observed.digest), ("vmid", vmid), ("node", node))
    deps = spec.depends_on
    # A line that detaches a volume was allowed by both opt-ins; the applier checks this mark.
    destructive = {f.path for f in fields if removes_volume(f.path, desired, actual)}
    changes: list[Change] = []
    for reason, group in refused.items():
        changes.append(Change(spec.address, Action.REFUSE, reason, tuple(group), (), guarded))
    if live:
        how = "applied live" if running else "the CT is stopped, so it applies directly"
        names = ", ".join(f.path for f in live)
        verb = "differs" if len(live) == 1 else "differ"
        reason = f"{names} {verb} from the spec; {how}"
        if adopting:
            reason += "; adopting a CT left half-created by an interrupted run"
        note, opts = _opt_in(live, destructive)
        reason += note
        ops = config_operations(live, desired, actual)
        changes.append(
            Change(spec.address, Action.UPDATE, reason, tuple(live), deps, guarded, opts, ops)
        )
    for field, reason in resizes:
        text = f"{reason} from {field.before} to {field.after}"
        grow = (resize_operation(field, desired),)
        changes.append(Change(spec.address, Action.RESIZE, text, (field,), deps, guarded, (), grow))
    holding = stays_running and spec.drift != DriftMode.IGNORE
    waiting = sorted(observed.pending_keys) if holding else []
    if pending or waiting:
        parts = [f"{', '.join(f.path for f in pending)}: {PENDING_REASON}"] if pending else []
        if waiting:
            parts.append(f"PVE holds pending changes to {', '.join(waiting)} from an earlier run")
        note, opts = _opt_in(pending, destructive)
        held = "; ".join(parts)
        blocked = restart_blocked(spec, options)
        ops = config_operations(pending, desired, actual)
        if blocked is None:
            reason = held + "; restart to apply" + restart_why(spec, options) + note
            ops += (Power("reboot"),)
            line = Change(
                spec.address, Action.RESTART, reason, tuple(pending), deps, guarded, opts, ops
            )
            changes.append(line)
        else:
            why, extra = blocked
            if pending:  # the values are written now; PVE keeps them pending, no reboot
                reason = f"{held}; set now, not rebooted ({why})" + note
                held_line = (tuple(pending), deps, guarded, opts, ops)
                changes.append(Change(spec.address, Action.UPDATE, reason, *held_line))
            keys = sorted({*(f.path for f in pending), *waiting})
            text = f"values of {', '.join(keys)} stay pending until the CT reboots; {why}"
            changes.append(Change(spec.address, Action.DEFERRED, text, (), (), guarded, extra))
    power = _power(spec, observed, want_state)
    if power is not None:
        changes.append(power)
    return tuple(changes)


def _opt_in(
    fields: list[FieldChange], destructive: set[str]
) -> tuple[str, tuple[tuple[str, bool], ...]]:
    """(reason suffix, line options) for a line that detaches volumes; empty otherwise."""
    disks = sorted({f.path.split(".", 1)[0] for f in fields if f.path in destructive})
    if not disks:
        return "", ()
    note = (
        "; DESTRUCTIVE, allowed by allowDestructive and --allow-destructive: removing "
        f"{', '.join(disks)} detaches its volume from the CT"
    )
    return note, (("allow_destructive", True),)


def _power(spec: ContainerSpec, observed: ObservedContainer, want: PowerState) -> Change | None:
    """`start` or `stop` when spec.state and the CT's status disagree."""
    have = observed.status
    if want == have:
        return None
    action = Action.START if want == PowerState.RUNNING else Action.STOP
    return Change(
        address=spec.address,
        action=action,
        reason=f"spec.state is {want.value}; the CT is {have.value}",
        fields=(FieldChange("state", have.value, want.value),),
        depends_on=spec.depends_on,
        preconditions=(("vmid", observed.vmid), ("node", observed.node)),
        operations=(Power("start" if action is Action.START else "stop"),),
    )
