"""`spec.provision` and `spec.readiness` from real spec trees: scripts read and hashed, paths
kept inside the specs tree, every problem with file, line and field."""

from __future__ import annotations

import hashlib
from pathlib import Path

from reconciler.sources import load_desired

HEAD = """apiVersion: reconciler/v1
kind: Container
metadata: {name: minio}
spec:
  vmid: 107
  template: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
  network:
    - {name: eth0, bridge: vmbr0, ip: 192.168.4.31/24}
"""


def _tree(tmp_path: Path, extra: str) -> Path:
    root = tmp_path / "specs"
    (root / "containers").mkdir(parents=True)
    (root / "scripts").mkdir()
    (root / "scripts" / "minio.sh").write_text("#!/bin/sh\necho minio\n")
    (root / "containers" / "minio.yaml").write_text(HEAD + extra)
    return root


def test_steps_carry_their_script_hash_args_env_references_and_defaults(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        """  provision:
    - {script: ../scripts/minio.sh, args: [--data, /srv], env: {PW_env: MINIO_PW}, timeout: 2m}
  readiness: {tcp: 9000, interval: 2s}
""",
    )
    result = load_desired(root)
    assert result.errors == ()
    assert result.desired is not None
    spec = result.desired.containers[0]
    assert spec.provision is not None and spec.provision.host is None
    step = spec.provision.steps[0]
    content = (root / "scripts" / "minio.sh").read_bytes()
    assert (step.script, step.content, step.sha256) == (
        "scripts/minio.sh",
        content,
        hashlib.sha256(content).hexdigest(),
    )
    assert step.args == ("--data", "/srv") and step.env == (("PW", "MINIO_PW"),)
    assert (step.run_as, step.timeout_seconds) == (None, 120)
    assert spec.readiness is not None
    assert (
        spec.readiness.tcp,
        spec.readiness.timeout_seconds,
        spec.readiness.interval_seconds,
    ) == (
        9000,
        300,
        2,
    )
    assert spec.ssh_host == "192.168.4.31"


def test_the_object_form_sets_the_ssh_address(tmp_path: Path) -> None:
    root = _tree(
        tmp_path, "  provision: {host: minio.lake.local, steps: [{script: ../scripts/minio.sh}]}\n"
    )
    result = load_desired(root)
    assert result.errors == () and result.desired is not None
    assert result.desired.containers[0].ssh_host == "minio.lake.local"


def test_a_script_outside_the_tree_or_missing_is_an_error_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "outside.sh").write_text("echo no\n")
    root = _tree(
        tmp_path,
        """  provision:
    - {script: ../../outside.sh}
    - {script: ../scripts/nope.sh}
""",
    )
    errors = [str(e) for e in load_desired(root).errors]
    assert len(errors) == 2, errors
    assert "minio.yaml:10" in errors[0] and "outside the specs tree" in errors[0]
    assert "minio.yaml:11" in errors[1] and "no such file (scripts/nope.sh" in errors[1]


def test_env_values_are_references_only_and_readiness_takes_one_probe(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        """  provision:
    - {script: ../scripts/minio.sh, env: {PASSWORD: hunter2}}
  readiness: {tcp: 9000, http: "http://192.168.4.31:9000/minio/health/live"}
""",
    )
    errors = [str(e) for e in load_desired(root).errors]
    assert any("provision" in e and "PASSWORD" in e for e in errors), errors
    assert any("exactly one of tcp, http, command" in e for e in errors), errors
