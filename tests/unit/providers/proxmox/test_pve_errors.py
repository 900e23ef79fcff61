"""Which PVE failures are retried, which are final, and which mean re-plan."""

from __future__ import annotations

import pytest

from reconciler.apply.errors import PermanentError, PreconditionFailed, TransientError
from reconciler.providers.proxmox.errors import classify_http, classify_task
from reconciler.providers.proxmox.tasks import is_success, task_node

TRANSIENT = [
    (500, "can't lock file '/run/lock/lxc/pve-config-107.lock' - got timeout"),
    (500, "CT is locked (backup)"),
    (500, "cluster not ready - no quorum?"),
    (500, "simulated internal server error"),  # unknown 500: retry
    (595, "No route to host"),
    (596, "Connection timed out"),
    (599, "Too many redirects"),
]
PERMANENT = [
    (500, "unable to shrink disk size"),
    (500, "disk is already at specified size"),
    (500, "CT 107 already exists on node 'pve'"),
    (500, "Configuration file 'nodes/pve/lxc/107.conf' does not exist"),
    (500, "can't remove CT 107 - protection mode enabled"),
    (500, "unable to modify read-only option: 'unprivileged'"),
    (400, "Parameter verification failed. - {'onboot': \"type check ('boolean') failed\"}"),
    (403, "Permission check failed (/vms/107, VM.Config.Options)"),
    (401, "authentication failure"),
    (501, "Method 'GET /nodes/pve/foo' not implemented"),
]


@pytest.mark.parametrize(("status", "message"), TRANSIENT)
def test_transient(status: int, message: str) -> None:
    assert isinstance(classify_http(status, message), TransientError)


@pytest.mark.parametrize(("status", "message"), PERMANENT)
def test_permanent(status: int, message: str) -> None:
    assert isinstance(classify_http(status, message), PermanentError)


def test_stale_digest_means_replan() -> None:
    error = classify_http(
        500, "detected modified configuration - file changed by other user? Try again."
    )
    assert isinstance(error, PreconditionFailed)


def test_task_exit_status() -> None:
    assert is_success("OK") and is_success("WARNINGS: 3")
    assert not is_success("unable to create CT 107 - no space left")
    assert not is_success("unexpected status")
    locked = classify_task("CT is locked (backup)", "UPID:pve:1:2:3:vzstart:107:root@pam:", "")
    assert isinstance(locked, TransientError)
    failed = classify_task("unable to create CT 107 - x", "UPID:x", "line 1\nTASK ERROR: x")
    assert isinstance(failed, PermanentError) and "TASK ERROR: x" in str(failed)


def test_task_node_comes_from_the_upid() -> None:
    assert task_node("UPID:pve2:0012AB34:0A1B2C3D:6745F0A1:vzcreate:100:root@pam!rec:") == "pve2"
    with pytest.raises(PermanentError):
        task_node("not-a-upid")
