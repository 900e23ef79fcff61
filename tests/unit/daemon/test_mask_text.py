"""The log mask redacts whole header values and URL credentials (issue 14: `Authorization:
token X` used to become `Authorization: *** X`); history and commit statuses use it too."""

from __future__ import annotations

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
