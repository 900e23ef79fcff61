"""The pure provisioning differ: which provision, await and unready lines a plan gets."""

from __future__ import annotations

import hashlib

from reconciler.diff.provision import plan_provisioning, probe_candidates
from reconciler.model.containers import (
    ContainerSettings,
    ContainerSpec,
    NetworkInterface,
    PowerState,
    Provision,
    ProvisionStep,
    Readiness,
)
from reconciler.model.provisioning import ProvisionRecord, keys_hash, step_records
from reconciler.plan.change import Action, Change


def _step(script: str, body: bytes, args: tuple[str, ...] = ()) -> ProvisionStep:
    return ProvisionStep(script, body, hashlib.sha256(body).hexdigest(), args)


def _spec(
    name: str, *steps: ProvisionStep, depends: tuple[str, ...] = (), **kw: object
) -> ContainerSpec:
    nic = NetworkInterface(0, "eth0", "vmbr0", ip="10.0.0.1/24")
    return ContainerSpec(
        name=name,
        vmid=100 + len(name),
        node="pve",
        template="local:vztmpl/debian.tar.zst",
        settings=ContainerSettings(hostname=name, network=(nic,)),
        provision=Provision(steps) if steps else None,
        depends_on=depends,
        **kw,  # type: ignore[arg-type]
    )


def _record(spec: ContainerSpec) -> ProvisionRecord:
    return ProvisionRecord(
        spec.address, spec.vmid, step_records(spec), keys_hash(spec.ssh_public_keys)
    )


def _lines(changes: tuple[Change, ...]) -> list[tuple[str, str, str]]:
    return [(c.address, c.action.value, c.reason) for c in changes]


A = _step("scripts/a.sh", b"echo a\n")
B = _step("scripts/b.sh", b"echo b\n")


def test_a_created_ct_is_provisioned_and_a_converged_one_is_not() -> None:
    spec = _spec("minio", A, B)
    created = Change(spec.address, Action.CREATE, "CT does not exist")
    lines = plan_provisioning([spec], [created], {}, {})
    assert _lines(lines) == [("container/minio", "provision", "new container: run 2 step(s)")]
    assert dict(lines[0].options)["from_step"] == 0
    assert plan_provisioning([spec], [], {spec.address: _record(spec)}, {}) == ()


def test_only_from_the_first_changed_step_and_the_reason_names_the_script() -> None:
    before = _spec("minio", A, B)
    after = _spec("minio", A, _step("scripts/b.sh", b"echo b2\n"))
    lines = plan_provisioning([after], [], {after.address: _record(before)}, {})
    assert _lines(lines) == [("container/minio", "provision", "scripts/b.sh changed")]
    assert dict(lines[0].options)["from_step"] == 1
    args = _spec("minio", _step("scripts/a.sh", b"echo a\n", ("--x",)), B)
    lines = plan_provisioning([args], [], {args.address: _record(before)}, {})
    assert _lines(lines)[0][2] == "scripts/a.sh args, env or runAs changed"


def test_a_key_change_is_a_provision_line_and_a_stopped_ct_gets_none() -> None:
    old = _spec("minio", A, ssh_public_keys=("ssh-ed25519 AAAA one",))
    new = _spec("minio", A, ssh_public_keys=("ssh-ed25519 BBBB two",))
    lines = plan_provisioning([new], [], {new.address: _record(old)}, {})
    assert _lines(lines) == [("container/minio", "provision", "sshPublicKeys changed")]
    assert dict(lines[0].options)["write_keys"] is True
    stopped = _spec("minio", A, state=PowerState.STOPPED)
    assert plan_provisioning([stopped], [Change(stopped.address, Action.CREATE, "")], {}, {}) == ()


def test_await_follows_a_start_or_precedes_a_dependents_lines_and_unready_is_reported() -> None:
    ready = Readiness(tcp=9000, timeout_seconds=60)
    minio = _spec("minio", A, readiness=ready)
    hive = _spec("hive", B, depends=("container/minio",))
    records = {minio.address: _record(minio), hive.address: _record(hive)}
    started = Change(minio.address, Action.START, "stopped")
    assert _lines(plan_provisioning([minio, hive], [started], records, {})) == [
        ("container/minio", "await", "wait for tcp 9000 (timeout 60s)")
    ]
    hive_update = Change(hive.address, Action.UPDATE, "memory")
    assert _lines(plan_provisioning([minio, hive], [hive_update], records, {})) == [
        ("container/minio", "await", "wait for tcp 9000 (timeout 60s): awaited by container/hive")
    ]
    assert plan_provisioning([minio, hive], [], records, {}) == ()
    down = {minio.address: "10.0.0.1:9000: Connection refused"}
    assert _lines(plan_provisioning([minio, hive], [], records, down)) == [
        (
            "container/minio",
            "unready",
            "provisioned, but tcp 9000 fails: 10.0.0.1:9000: Connection refused",
        )
    ]
    assert not Action.UNREADY.executes
    assert probe_candidates([minio, hive], records) == (minio,)
    assert probe_candidates([minio, hive], {}) == ()  # never provisioned: not probed
