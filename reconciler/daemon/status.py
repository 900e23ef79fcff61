"""Read-side commands for the CLI: `reconcile status`, `history` and `drift` (plan mode only)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.daemon import specs as spec_dirs
from reconciler.daemon.heartbeat import KEY as HEARTBEAT
from reconciler.daemon.heartbeat import daemon_state
from reconciler.daemon.record import failed_actions, iso
from reconciler.diff.backoff import failure_to_dict
from reconciler.model.containers import ContainerSpec
from reconciler.model.tables import TableSpec
from reconciler.plan.change import Plan
from reconciler.report.conditions import STALL_AFTER, Entry, conditions, reason_of
from reconciler.report.drift import drift_to_dict, is_health, make_drift_report
from reconciler.settings import Settings
from reconciler.store import CycleRecord, Store


class DriftUnavailable(RuntimeError):
    """The drift report could not be made (invalid specs, unreachable API)."""


def _entry(cycle: CycleRecord) -> Entry:
    message = cycle.error or failed_actions(cycle) or ""
    return Entry(cycle.result, reason_of(cycle.result, cycle.reason), message, cycle.finished_at)


def _conditions(
    cycles: list[CycleRecord], running: bool = False, rejected: str | None = None
) -> list[dict[str, Any]]:
    found = conditions([_entry(c) for c in cycles], running=running, rejected=rejected)
    return [c.to_dict() for c in found]


def _cycle_dict(cycle: CycleRecord, older: list[CycleRecord] | None = None) -> dict[str, Any]:
    """One history entry; `older` (newest first, this one included) gives its conditions."""
    rejected = cycle.revision if cycle.result == "rejected" else None
    return {
        "id": cycle.id,
        "started_at": cycle.started_at,
        "finished_at": cycle.finished_at,
        "seconds": cycle.seconds,
        "revision": cycle.revision,
        "trigger": cycle.trigger,
        "result": cycle.result,
        "reason": reason_of(cycle.result, cycle.reason).value,
        "conditions": _conditions(older or [cycle], rejected=rejected),
        "summary": cycle.summary,
        "error": cycle.error,
        "user": cycle.user,  # user, host, command: CLI applies only (trigger "cli")
        "host": cycle.host,
        "command": cycle.command,
        "actions": [
            {
                "address": a.address,
                "action": a.action,
                "status": a.status,
                "message": a.message,
                "seconds": a.seconds,
            }
            for a in cycle.actions
        ],
    }


def status(settings: Settings, now: float | None = None) -> dict[str, Any]:
    """The daemon's state as the store records it (works whether the daemon runs or not).

    `daemon` says whether it runs (its heartbeat against `now`); when it does not,
    `last_result` is historical and `next_run` is null (nothing is scheduled).
    """
    store = Store(settings.state_dir)
    last = store.last_daemon_cycle()
    recent = [c for c in store.cycles(4 * STALL_AFTER) if c.trigger != "cli"]
    alive = daemon_state(store.get(HEARTBEAT), time.time() if now is None else now)
    rejected = store.get("rejected_revision")
    error = store.get("rejected_error") if rejected else None
    if error is None and last is not None and last.result != "success":
        error = last.error or failed_actions(last)
    source = (
        f"git {settings.git.url}#{settings.git.branch}" if settings.git else str(settings.specs)
    )
    return {
        **alive,
        "revision": store.get("good_revision"),
        "last_result": last.result if last is not None else None,
        "reason": reason_of(last.result, last.reason).value if last is not None else None,
        "last_result_historical": not alive["daemon_running"] and last is not None,
        "last_cycle_at": last.finished_at if last is not None else None,
        "error": error,
        "next_run": store.get("next_run") if alive["daemon_running"] else None,
        "pending_drift": store.get("pending_drift") or 0,
        "rejected_revision": rejected,
        "last_trigger": last.trigger if last is not None else None,
        "source": source,
        "failing_maintenance": [  # tables whose maintenance backs off after failures
            failure_to_dict(f) for f in store.maintenance_failures().values()
        ],
        "conditions": _conditions(recent, bool(alive["daemon_running"]), rejected),
    }


def history(settings: Settings, n: int) -> list[dict[str, Any]]:
    """The newest `n` cycles, newest first, each with its actions and outcomes."""
    wanted = max(0, n)
    cycles = Store(settings.state_dir).cycles(wanted + STALL_AFTER)  # older ones: Stalled
    return [_cycle_dict(c, cycles[i:]) for i, c in enumerate(cycles[:wanted])]


def specs_for_drift(
    settings: Settings, store: Store, ref: str | None = None
) -> tuple[Callable[[str, str], str | None], str | None, Path, bool]:
    """(commit_of, revision, specs dir, whether the dir is a temporary export to delete)."""
    if ref is not None:  # a preview of any commit: fetched into the CLI's own cache
        from reconciler.sources.git import GitSource
        from reconciler.sources.revision import RevisionError

        if settings.git is None:
            raise RevisionError("--revision needs source.git in the config")
        git = GitSource(settings.git, settings.state_dir / "git" / "cli.git")
        git.fetch_all()
        sha = git.resolve(ref)
        if sha is None:
            raise RevisionError(f"unknown revision {ref!r} in {git.url}")
        drift_work = settings.state_dir / "specs" / "drift"
        return git.last_commit, sha, git.export(sha, drift_work), True
    if settings.git is None:
        from reconciler.sources.snapshot import dir_revision

        source = spec_dirs.make_source(settings)
        return source.commit_of, dir_revision(settings.specs), settings.specs, False
    source = spec_dirs.make_source(settings)
    revision = store.get("good_revision")
    if revision is not None:
        copy = spec_dirs.good_dir(settings, revision)
        if copy.is_dir():
            return source.commit_of, revision, copy, False
    revision = revision or source.latest()
    drift_work = settings.state_dir / "specs" / "drift"
    return source.commit_of, revision, source.export(revision, drift_work), True


def spec_commits(
    items: Sequence[ContainerSpec | TableSpec],
    revision: str | None,
    specs_dir: Path,
    commit_of: Callable[[str, str], str | None],
) -> dict[str, str | None]:
    """The commit that last changed each resource's spec file (none without a revision)."""
    commits: dict[str, str | None] = {}
    for item in items:
        if item.source is not None and revision is not None:
            rel = spec_dirs.relative_spec_file(item.source.file, specs_dir)
            commits[item.address] = commit_of(revision, rel)
    return commits


def drift_plan(plan: Plan, items: Sequence[ContainerSpec | TableSpec]) -> Plan:
    """The plan as drift sees it: resources with `drift: ignore` left out, except their
    health lines (health is not drift: `ignore` keeps it)."""
    ignored = {i.address for i in items if str(getattr(i.drift, "value", i.drift)) == "ignore"}
    return replace(
        plan,
        changes=tuple(c for c in plan.changes if is_health(c) or c.address not in ignored),
    )


def drift(settings: Settings, fmt: str, ref: str | None = None) -> str:
    """Every difference between the specs in force and reality, with its age and commit,
    and each table's health against its policy (maintenance due or deferred: kind health).

    fmt: text | json | markdown; ref: a commit of source.git instead of the revision in
    force. Raises DriftUnavailable when no plan can be made.
    """
    from reconciler.engine import RunOptions, load, reconcile_once

    store = Store(settings.state_dir)
    from reconciler.sources.revision import source_errors

    try:
        commit_of, revision, specs_dir, temporary = specs_for_drift(settings, store, ref)
    except source_errors(settings) as exc:
        raise DriftUnavailable(str(exc)) from None
    try:
        desired, error = load(specs_dir, settings)
        if desired is None:
            raise DriftUnavailable(error or "invalid specs")
        from reconciler.wiring import build_deps

        options = RunOptions(apply=False, maintenance=True)
        report = reconcile_once(settings, specs_dir, options, revision, build_deps(settings))
        if report.error and not report.plan.has_unknown:  # unknown lines: reported as drift
            raise DriftUnavailable(report.error.message)
        commits = spec_commits(desired.resources, revision, specs_dir, commit_of)
    finally:
        if temporary:
            shutil.rmtree(specs_dir, ignore_errors=True)
    plan = drift_plan(report.plan, desired.resources)
    doc = make_drift_report(plan, list(store.planned_cycles()), commits, revision, iso(time.time()))
    if fmt == "json":
        return json.dumps(drift_to_dict(doc), indent=2) + "\n"
    from reconciler.render.markdown import render_drift_markdown, render_drift_text

    return render_drift_markdown(doc) if fmt == "markdown" else render_drift_text(doc)
