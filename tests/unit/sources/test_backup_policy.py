"""MaintenancePolicy `backup:` through the real loader: values built, bad input named by
file, line and field."""

from __future__ import annotations

from pathlib import Path

from reconciler.model.policies import Backup, BackupCredentials, Window
from reconciler.sources import load_desired

POLICY = """apiVersion: reconciler/v1
kind: MaintenancePolicy
metadata: {{name: nightly}}
spec:
  window: {{schedule: "0 2 * * *", duration: 4h}}
  backup:
{body}
"""


def _load(tmp_path: Path, body: str) -> tuple[object, list[str]]:
    (tmp_path / "p.yaml").write_text(POLICY.format(body=body))
    result = load_desired(tmp_path)
    policy = result.desired.policies[0] if result.desired is not None else None
    return policy, [str(e) for e in result.errors]


def test_a_full_backup_section_is_built(tmp_path: Path) -> None:
    policy, errors = _load(
        tmp_path,
        """    target: s3://backups/lake/
    every: 12h
    keepLast: 3
    window: {schedule: "0 1 * * *", duration: 2h, timezone: Europe/Berlin}
    endpoint: http://127.0.0.1:9000
    region: eu-west-1
    credentials: {access_key_id_env: BK_AK, secret_access_key_env: BK_SK}""",
    )
    assert errors == []
    assert policy.backup == Backup(  # type: ignore[attr-defined]
        target="s3://backups/lake",
        every=43200,
        keep_last=3,
        window=Window("0 1 * * *", 7200, "Europe/Berlin"),
        credentials=BackupCredentials("BK_AK", "BK_SK"),
        endpoint="http://127.0.0.1:9000",
        region="eu-west-1",
    )


def test_defaults(tmp_path: Path) -> None:
    policy, errors = _load(tmp_path, "    target: file:///srv/backups")
    assert errors == []
    assert policy.backup == Backup(target="file:///srv/backups")  # type: ignore[attr-defined]
    assert (policy.backup.every, policy.backup.keep_last) == (86400, 7)  # type: ignore[attr-defined]


def test_bad_input_names_file_line_and_field(tmp_path: Path) -> None:
    cases = {
        "    target: ftp://x": 'spec.backup.target: "ftp://x" is not a backup target',
        "    keepLast: 2": "spec.backup.target: required key is missing",
        "    target: file:///b\n    endpoint: http://minio:9000": (
            "spec.backup.endpoint: endpoint applies to an s3:// target only"
        ),
        "    target: s3://b\n    credentials: {access_key_id: AKIA}": "spec.backup.credentials",
        "    target: s3://b\n    every: 0s": "spec.backup.every: every must be greater than zero",
        "    target: s3://b\n    window: {schedule: nope, duration: 1h}": (
            "spec.backup.window.schedule"
        ),
    }
    for body, wanted in cases.items():
        _, errors = _load(tmp_path, body)
        assert len(errors) == 1 and wanted in errors[0], (body, errors)
        assert errors[0].startswith(f"{tmp_path / 'p.yaml'}:"), errors
