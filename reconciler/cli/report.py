"""`reconcile report [--output html|json] FILE`: the lake report, gathered at the edge (one
plan of the specs in force, the store's history, file sizes from the tables' manifests)
and written atomically; exit 0 written, 1 no plan could be made (like `drift`)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from reconciler.cli.common import error
from reconciler.cli.exit_codes import EXIT_ERROR, EXIT_OK
from reconciler.daemon.record import iso
from reconciler.daemon.status import drift_plan, spec_commits, specs_for_drift
from reconciler.model.file_sizes import SizeBucket
from reconciler.model.health import TableHealth
from reconciler.model.policies import MaintenancePolicy
from reconciler.model.tables import TableSpec
from reconciler.report.drift import make_drift_report
from reconciler.report.lake import PROCEDURES, LakeReport, MaintenanceRun, build_lake_report
from reconciler.settings import Settings
from reconciler.store import Store

HISTORY_CYCLES = 500  # cycles scanned for maintenance runs
HISTORY_SHOWN = 50  # recent runs listed at the bottom of the page


class ReportUnavailable(RuntimeError):
    """No plan could be made (invalid specs, unreadable source)."""


def maintenance_runs(store: Store, limit: int = HISTORY_CYCLES) -> list[MaintenanceRun]:
    """Every recorded maintenance action of the newest `limit` cycles, newest first."""
    return [
        MaintenanceRun(a.address, a.action, a.status, a.message, c.finished_at, a.seconds)
        for c in store.cycles(limit)
        for a in c.actions
        if a.action in PROCEDURES
    ]


def _file_sizes(
    settings: Settings, tables: Sequence[TableSpec]
) -> tuple[dict[str, tuple[SizeBucket, ...]], dict[str, TableHealth], list[str]]:
    """Histograms and plain health of existing tables, catalog by catalog (one down: named)."""
    from reconciler.wiring import build_catalogs, extra_installed

    histograms: dict[str, tuple[SizeBucket, ...]] = {}
    health: dict[str, TableHealth] = {}
    errors: list[str] = []
    if not tables or not extra_installed("pyiceberg"):
        return histograms, health, errors
    from reconciler.providers.iceberg.file_sizes import read_table_sizes

    catalogs = build_catalogs(settings)
    for name in sorted({t.catalog for t in tables}):
        try:
            found = read_table_sizes(catalogs, [t for t in tables if t.catalog == name])
        except Exception as exc:  # the plan names the same failure; the page says it too
            errors.append(f"catalog {name}: file sizes not read: {exc}")
            continue
        for address, sizes in found.items():
            histograms[address] = sizes.histogram
            health[address] = sizes.health
    return histograms, health, errors


def gather(
    settings: Settings, ref: str | None = None, clock: Callable[[], float] = time.time
) -> LakeReport:
    """The report of the specs in force (or of commit `ref`); raises ReportUnavailable."""
    from reconciler.engine import RunOptions, plan_once
    from reconciler.sources.revision import source_errors
    from reconciler.wiring import build_deps

    store = Store(settings.state_dir)
    try:
        commit_of, revision, specs_dir, temporary = specs_for_drift(settings, store, ref)
    except source_errors(settings) as exc:
        raise ReportUnavailable(str(exc)) from None
    observed: dict[str, TableHealth] = {}
    try:
        deps = build_deps(settings)
        inner = deps.observe_health
        if inner is not None:

            def observe_health(
                specs: Sequence[TableSpec],
                policies: Mapping[str, MaintenancePolicy],
                now: datetime,
                /,
            ) -> Mapping[str, TableHealth]:
                found = inner(specs, policies, now)
                observed.update(found)  # the plan's own figures (small files included)
                return found

            deps = replace(deps, observe_health=observe_health)
        result = plan_once(settings, specs_dir, RunOptions(maintenance=True), deps)
        planned = result.planned
        if planned is None:
            raise ReportUnavailable(result.error or "no plan could be made")
        desired = planned.desired
        commits = spec_commits(desired.resources, revision, specs_dir, commit_of)
    finally:
        if temporary:
            shutil.rmtree(specs_dir, ignore_errors=True)
    plan = drift_plan(planned.plan, desired.resources)
    now = clock()
    drift = make_drift_report(plan, list(store.planned_cycles()), commits, revision, iso(now))
    present = [t for t in desired.tables if not t.absent]
    histograms, plain, errors = _file_sizes(settings, present)
    runs = maintenance_runs(store)
    return build_lake_report(
        desired,
        drift,
        {**plain, **observed},
        histograms,
        planned.notes,
        runs[:HISTORY_SHOWN] if len(runs) > HISTORY_SHOWN else runs,
        [*planned.errors, *errors],
        int(now * 1000),
    )


def write_atomic(path: Path, text: str) -> None:
    """`text` to `path` through a temporary file in its directory, then a rename: a reader
    (a web server, a browser) never sees half a page. Keeps an existing file's mode."""
    target = path.resolve()
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from reconciler.render.json_doc import render_document
    from reconciler.report.lake import lake_to_dict

    try:
        report = gather(settings, getattr(args, "revision", None))
    except ReportUnavailable as exc:
        error(str(exc))
        return EXIT_ERROR
    if args.output == "json":
        text = render_document(lake_to_dict(report))
    else:
        from reconciler.render.html_report import render_html

        text = render_html(report)
    if str(args.file) == "-":
        sys.stdout.write(text)
        return EXIT_OK
    try:
        write_atomic(args.file, text)
    except OSError as exc:
        error(f"{args.file}: {exc.strerror or exc}")
        return EXIT_ERROR
    print(f"Report written to {args.file}.")
    return EXIT_OK


__all__: list[str] = ["ReportUnavailable", "cmd_report", "gather", "write_atomic"]
