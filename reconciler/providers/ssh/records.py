"""The provision state files under `state_dir/provision/`: one JSON record per CT (what last
ran there), and each step's captured output."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from reconciler.model.provisioning import ProvisionRecord, StepRecord

FORMAT = 1


def folder(state_dir: Path) -> Path:
    return state_dir / "provision"


def _name(address: str) -> str:
    return address.split("/", 1)[-1]


def read_records(state_dir: Path) -> dict[str, ProvisionRecord]:
    """Every CT's record; a file that cannot be parsed counts as no record (re-provision)."""
    found: dict[str, ProvisionRecord] = {}
    base = folder(state_dir)
    if not base.is_dir():
        return found
    for path in sorted(base.glob("*.json")):
        try:
            doc = json.loads(path.read_text())
            record = ProvisionRecord(
                address=str(doc["address"]),
                vmid=int(doc["vmid"]),
                steps=tuple(
                    StepRecord(str(s["script"]), str(s["sha256"]), str(s["inputs"]))
                    for s in doc["steps"]
                ),
                keys=str(doc.get("keys", "")),
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue
        found[record.address] = record
    return found


def write_record(state_dir: Path, record: ProvisionRecord) -> Path:
    """Atomically (rename) replace the CT's record."""
    base = folder(state_dir)
    base.mkdir(parents=True, exist_ok=True)
    doc = {
        "format": FORMAT,
        "address": record.address,
        "vmid": record.vmid,
        "steps": [s.to_dict() for s in record.steps],
        "keys": record.keys,
    }
    target = base / f"{_name(record.address)}.json"
    fd, tmp = tempfile.mkstemp(dir=base, prefix=".record-")
    with os.fdopen(fd, "w") as out:
        json.dump(doc, out, indent=2, sort_keys=True)
    os.replace(tmp, target)
    return target


def output_path(state_dir: Path, address: str, index: int, script: str, stamp: str) -> Path:
    """`provision/<ct>/<stamp>-<n>-<script name>.log` (the newest run sorts last)."""
    base = folder(state_dir) / _name(address)
    base.mkdir(parents=True, exist_ok=True)
    return base / f"{stamp}-{index + 1:02d}-{Path(script).name}.log"
