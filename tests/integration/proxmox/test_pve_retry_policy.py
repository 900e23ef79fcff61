"""The one retry policy at the PVE edge, over real HTTPS to the simulator: reads retry with the
injected sleeper and the errors' own delay hints; the executor adds no retries on top."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from reconciler.apply.executor import execute
from reconciler.apply.retry import RetryPolicy
from reconciler.plan.change import Action, FieldChange, Plan
from reconciler.providers.proxmox.reader import READ_SCALE, ProxmoxReader
from reconciler.report.outcome import Status
from reconciler.testing.pvesim import PveSim
from reconciler.testing.pvesim.faults import Faults

from .helpers import change, make_applier, make_client, make_spec, observe_one


def test_reads_retry_596_with_the_injected_sleeper_and_the_errors_delay(
    pvesim_factory: Callable[..., PveSim],
) -> None:
    sim = pvesim_factory()
    client = make_client(sim)
    spec = make_spec("a", 101)
    make_applier(client, spec).apply(change(Action.CREATE, spec))
    slept: list[float] = []
    policy = RetryPolicy(attempts=50, scale=READ_SCALE, sleep=slept.append, uniform=lambda: 0.0)
    sim.set_faults(Faults(error_rate=0.5, status=596, seed=3, methods=("GET",)))
    sim.clear_requests()
    guests = ProxmoxReader(client, retry=policy).guests()
    assert [g.vmid for g in guests] == [101]
    failed = [r for r in sim.requests() if r.status == 596]
    assert failed and len(slept) == len(failed)  # one sleep per retried read, no more
    assert slept[0] == 2.0 * READ_SCALE  # a proxy error suggests 2 s; reads wait a fifth


def test_a_pve_write_that_keeps_failing_is_tried_retries_plus_one_times_in_all(
    pvesim_factory: Callable[..., PveSim],
) -> None:
    sim = pvesim_factory()
    client = make_client(sim)
    spec = make_spec("b", 102)
    make_applier(client, spec).apply(change(Action.CREATE, spec))
    digest = observe_one(client, spec).digest
    sim.set_faults(Faults(lock_timeout_rate=1.0, methods=("PUT",)))
    sim.clear_requests()
    new = replace(spec, settings=replace(spec.settings, description="compacted nightly"))
    line = change(Action.UPDATE, new, FieldChange("description", "x", "y"), digest=digest)
    events: list[str] = []
    (outcome,) = execute(
        Plan((line,)),
        [make_applier(client, new, retries=2)],
        listener=lambda event, c, o: events.append(event),
    )
    puts = [r for r in sim.requests() if r.method == "PUT"]
    assert outcome.status is Status.FAILED and "lock" in outcome.message
    assert len(puts) == 3  # the applier's 1 + 2 retries; the executor adds none
    assert events == ["start", "retry", "retry", "done"]
