"""The log mask redacts whole header values and URL credentials (issue 14: `Authorization:
token X` used to become `Authorization: *** X`); history and commit statuses use it too."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.daemon.commit_status import describe
from reconciler.daemon.logs import MASK, mask_secrets, mask_text
from reconciler.daemon.record import cycle_record
from reconciler.report.conditions import CycleError, Reason

SECRET = "s3cr3t-t0ken-value"


@pytest.mark.parametrize(
    "text",
    [f"Authorization: token {SECRET}", f"authorization: Bearer {SECRET}",
     f"Proxy-Authorization: Basic {SECRET}", f"X-Gitea-Token: {SECRET}",
     f"fatal: unable to access 'https://oauth2:{SECRET}@git.local/x.git/'",
     f"clone https://{SECRET}@git.local/x.git", f"token={SECRET}", f"password: {SECRET}"],
)  # fmt: skip
def test_the_secret_is_gone_whole(text: str) -> None:
    masked = mask_text(text)
    assert SECRET not in masked
    assert MASK in masked
    assert not any(part in masked for part in SECRET.split("-")), masked


def test_header_value_becomes_a_single_mask() -> None:
    assert mask_text(f"Authorization: token {SECRET}") == "Authorization: ***"
    event = mask_secrets(None, "info", {"event": "x", "detail": f"Authorization: token {SECRET}"})
    assert event["detail"] == "Authorization: ***"


def test_history_and_commit_status_texts_are_masked() -> None:
    message = f"HTTPError: 401 for Authorization: token {SECRET}"
    record = cycle_record(
        "poll", 0.0, 1.0, "abc", "failed", None, CycleError(Reason.INTERNAL_ERROR, message)
    )
    assert record.error is not None and SECRET not in record.error
    assert SECRET not in describe("failed", None, message)


def test_history_masks_the_configured_secret_values_whatever_their_shape(tmp_path: Path) -> None:
    from reconciler.daemon.metrics import Metrics
    from reconciler.daemon.notify import Notifier
    from reconciler.daemon.recorder import Recorder
    from reconciler.daemon.secret_values import mask, secret_values
    from reconciler.report.conditions import CycleResult
    from reconciler.settings import GitSourceSettings, Settings
    from reconciler.store import Store

    settings = Settings(
        config_file=None,
        specs=tmp_path,
        state_dir=tmp_path,
        git=GitSourceSettings(url="https://git.local/x.git", token_env="GITEA_TOKEN"),
        catalogs=(("lake", (("uri_env", "LAKE_URI"),)),),
    )
    env = {"PVE_TOKEN_SECRET": "pve-value-123", "GITEA_TOKEN": "gitea-value-456",
           "LAKE_URI": "postgresql://u:pw-789@db/lake"}  # fmt: skip
    secrets = secret_values(settings, env)
    assert secrets == frozenset(env.values())
    store = Store(tmp_path)
    recorder = Recorder(store, Metrics(), Notifier({}), None, lambda: 1.0, str, secrets)
    message = "boom: gitea-value-456 / (pve-value-123) in postgresql://u:pw-789@db/lake"
    recorder.record(
        "poll", 0.0, "abc", CycleResult.FAILED, error=CycleError(Reason.INTERNAL_ERROR, message)
    )
    (stored,) = store.cycles(5)
    assert stored.error is not None
    assert not [value for value in env.values() if value in stored.error], stored.error
    assert "value" not in mask(message, secrets)
