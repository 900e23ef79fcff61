"""Building the client: the token secret comes only from the named environment variable."""

from __future__ import annotations

import pytest

from reconciler.providers.proxmox.client import PveConfigError, build_client
from reconciler.settings import ProxmoxSettings


def test_missing_secret_names_the_variable() -> None:
    settings = ProxmoxSettings(token_secret_env="LAKE_PVE_SECRET")
    with pytest.raises(PveConfigError, match="LAKE_PVE_SECRET"):
        build_client(settings, env={})


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(PveConfigError, match="backend"):
        build_client(ProxmoxSettings(backend="ssh"), env={"PVE_TOKEN_SECRET": "s3cr3t"})


def test_client_starts_with_zero_calls_and_keeps_the_default_node() -> None:
    client = build_client(ProxmoxSettings(node="pve7"), env={"PVE_TOKEN_SECRET": "s3cr3t"})
    assert client.calls == 0
    assert client.default_node == "pve7"
