"""Provision, readiness and unready lines added to a plan's container lines: reads the recorded
provision state and probes through `Deps` (wiring builds them), then the pure differ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import structlog

from reconciler.deps import Deps
from reconciler.model.desired import Desired
from reconciler.model.provisioning import ProvisionRecord
from reconciler.plan.change import Change

log = structlog.get_logger("reconciler.engine")


def with_provisioning(deps: Deps, desired: Desired, changes: Sequence[Change]) -> list[Change]:
    """`changes` plus the provisioning lines; unchanged when the config has no `provision:`."""
    from reconciler.diff.provision import plan_provisioning, probe_candidates

    if deps.provision_records is None:
        return list(changes)
    records: Mapping[str, ProvisionRecord] = {}
    try:
        records = deps.provision_records()
    except Exception as exc:  # an unreadable state file: every CT counts as not provisioned
        log.warning("provision.records_unreadable", error=str(exc))
    unready: Mapping[str, str] = {}
    candidates = probe_candidates(desired.containers, records)
    if candidates and deps.probe_readiness is not None:
        try:
            unready = deps.probe_readiness(candidates)
        except Exception as exc:  # a probe bug must not stop the plan
            log.warning("readiness.probe_failed", error=str(exc))
    return [*changes, *plan_provisioning(desired.containers, changes, records, unready)]
