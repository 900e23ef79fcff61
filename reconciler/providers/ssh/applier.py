"""Carries out `provision` and `await` lines: the steps of a CT over SSH (output captured to
the state dir, the record written after the last one), its authorized_keys, its readiness."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import structlog

from reconciler.apply.errors import PermanentError, PreconditionFailed
from reconciler.model.containers import ContainerSpec
from reconciler.model.provisioning import ProvisionRecord, keys_hash, step_records
from reconciler.plan.change import Action, Change
from reconciler.providers.ssh.probes import env_values, probe
from reconciler.providers.ssh.records import output_path, write_record
from reconciler.providers.ssh.session import (
    Session,
    StepRun,
    authorized_keys_program,
    public_key_line,
    script_program,
)
from reconciler.report.outcome import Outcome, Status
from reconciler.settings import ProvisionSettings

log = structlog.get_logger("reconciler.ssh")


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _last_line(output: bytes) -> str:
    lines = output.decode(errors="replace").strip().splitlines()
    return lines[-1][:200] if lines else ""


def authorized_keys(own: str, keys: Sequence[str]) -> list[str]:
    """The reconciler's own key first (it must keep its access), then the spec's, each key
    material once."""
    seen: set[tuple[str, ...]] = set()
    kept: list[str] = []
    for line in (own, *keys):
        material = tuple(line.split()[:2])
        if material not in seen:
            seen.add(material)
            kept.append(line.strip())
    return kept


class SshApplier:
    """Applier (apply.ports) of PROVISION and AWAIT lines."""

    def __init__(
        self,
        cfg: ProvisionSettings,
        specs: Sequence[ContainerSpec],
        state_dir: Path,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._cfg = cfg
        self._specs = {s.address: s for s in specs}
        self._state_dir = state_dir
        self._clock = clock
        self._sleep = sleep
        self._now = now

    def handles(self, change: Change) -> bool:
        return change.action in (Action.PROVISION, Action.AWAIT)

    def serial_key(self, change: Change) -> str:
        return f"ssh:{change.address}"

    def _spec(self, change: Change) -> tuple[ContainerSpec, str]:
        spec = self._specs.get(change.address)
        if spec is None:
            raise PreconditionFailed(f"{change.address} is no longer in the specs")
        if spec.ssh_host is None:
            raise PermanentError(
                f"{change.address}: no SSH address (set provision.host or a static network[0].ip)"
            )
        return spec, spec.ssh_host

    def apply(self, change: Change) -> Outcome:
        if change.action is Action.AWAIT:
            return self._await(change)
        return self._provision(change)

    def _await(self, change: Change) -> Outcome:
        spec, _ = self._spec(change)
        readiness = spec.readiness
        if readiness is None:
            raise PreconditionFailed(f"{change.address} has no readiness any more")
        started = self._clock()
        attempts = 0
        while True:
            attempts += 1
            why = probe(spec, self._cfg)
            waited = self._clock() - started
            if why is None:
                return Outcome(
                    change.address,
                    change.action,
                    Status.APPLIED,
                    f"ready: {readiness.awaited} after {attempts} probe(s), {waited:.1f}s",
                )
            if waited >= readiness.timeout_seconds:
                raise PermanentError(
                    f"not ready after {readiness.timeout_seconds}s ({attempts} probes): {why}"
                )
            log.info("readiness.waiting", address=change.address, awaited=readiness.awaited)
            self._sleep(min(readiness.interval_seconds, readiness.timeout_seconds - waited))

    def _provision(self, change: Change) -> Outcome:
        spec, host = self._spec(change)
        options = dict(change.options)
        records = step_records(spec)
        if options.get("steps") != [r.to_dict() for r in records]:
            raise PreconditionFailed("the provision steps changed since the plan")
        first = int(options.get("from_step") or 0)  # type: ignore[arg-type]
        steps = spec.provision.steps if spec.provision else ()
        values = [env_values(step.env, change.address) for step in steps]  # all, before any run
        stamp = _stamp(self._now())
        ran: list[str] = []
        with Session(host, self._cfg) as session:
            if options.get("write_keys"):
                keys = authorized_keys(public_key_line(self._cfg.key_file), spec.ssh_public_keys)
                program = authorized_keys_program(self._cfg.authorized_keys_file, keys)
                run = session.run(program, None, 60, self._clock)
                if run.exit_code != 0:
                    raise PermanentError(
                        f"writing authorized_keys failed: {_last_line(run.output)}"
                    )
                ran.append(f"authorized_keys ({len(keys)} keys)")
            for index in range(first, len(steps)):
                step = steps[index]
                program = script_program(step.content, step.args, values[index])
                run = session.run(program, step.run_as, step.timeout_seconds, self._clock)
                path = self._save(change.address, index, step.script, stamp, run)
                log.info(
                    "provision.step",
                    address=change.address,
                    script=step.script,
                    exit_code=run.exit_code,
                    seconds=round(run.seconds, 2),
                )
                if run.exit_code != 0:
                    code = (
                        f"timed out after {step.timeout_seconds}s and was killed"
                        if run.killed
                        else f"timed out after {step.timeout_seconds}s (no answer; channel closed)"
                        if run.exit_code is None
                        else f"exited {run.exit_code}"
                    )
                    last = _last_line(run.output)
                    if (
                        run.exit_code is not None
                        and "sudo" in last
                        and step.run_as
                        not in (
                            None,
                            self._cfg.user,
                        )
                    ):
                        last += (
                            f" (runAs {step.run_as} needs sudo on the CT and a NOPASSWD rule"
                            f" for {self._cfg.user})"
                        )
                    raise PermanentError(
                        f"step {index + 1} {step.script} {code}"
                        + (f": {last}" if last else "")
                        + f"; output: {path}"
                    )
                ran.append(f"{step.script} ok in {run.seconds:.1f}s")
        write_record(
            self._state_dir,
            ProvisionRecord(change.address, spec.vmid, records, keys_hash(spec.ssh_public_keys)),
        )
        skipped = f"; {first} unchanged step(s) not re-run" if first else ""
        return Outcome(
            change.address,
            change.action,
            Status.APPLIED,
            (", ".join(ran) or "nothing to run") + skipped,
        )

    def _save(self, address: str, index: int, script: str, stamp: str, run: StepRun) -> Path:
        path = output_path(self._state_dir, address, index, script, stamp)
        tail = f"\n[{run.truncated} more bytes not kept]\n".encode() if run.truncated else b""
        path.write_bytes(run.output + tail)
        return path
