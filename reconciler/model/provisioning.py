"""What was last provisioned on a CT, as frozen data, and the fingerprints compared to it; pure."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from reconciler.model.containers import ContainerSpec, ProvisionStep


@dataclass(frozen=True)
class StepRecord:
    """One step as it last ran: its script, content hash and a hash of its inputs
    (args, env *references* and runAs; never env values)."""

    script: str
    sha256: str
    inputs: str

    def to_dict(self) -> dict[str, str]:
        return {"script": self.script, "sha256": self.sha256, "inputs": self.inputs}


@dataclass(frozen=True)
class ProvisionRecord:
    """The state file of one CT: written after its provision line applied."""

    address: str
    vmid: int
    steps: tuple[StepRecord, ...] = ()
    keys: str = ""  # keys_hash of the sshPublicKeys last written; "" none


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def step_record(step: ProvisionStep) -> StepRecord:
    inputs = _digest({"args": list(step.args), "env": [list(e) for e in step.env],
                      "runAs": step.run_as})  # fmt: skip
    return StepRecord(step.script, step.sha256, inputs)


def step_records(spec: ContainerSpec) -> tuple[StepRecord, ...]:
    return tuple(step_record(s) for s in (spec.provision.steps if spec.provision else ()))


def keys_hash(keys: tuple[str, ...]) -> str:
    """ "" for no keys; otherwise a hash of the sorted, stripped keys."""
    cleaned = sorted({k.strip() for k in keys if k.strip()})
    return _digest(cleaned) if cleaned else ""
