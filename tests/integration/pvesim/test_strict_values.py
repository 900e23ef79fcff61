"""The simulator refuses what PVE refuses in ids and mount paths, over real HTTPS (issue 14:
`$` let "local-lvm\\n" through, and a mount path could carry control characters)."""

from __future__ import annotations

import pytest
from proxmoxer import ResourceException

from reconciler.testing.pvesim import PveSim

from .helpers import create_ct


def test_ids_with_a_trailing_newline_and_bad_mount_paths_are_400(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api)
    cfg = api.nodes("pve").lxc(100).config
    bad = {
        "mp0": "local-lvm:4,mp=/srv/da\tta",
        "mp1": "local-lvm:4,mp=/srv/x\n",
        "hostname": "web\n",
        "tags": "a:b",
    }
    for key, value in bad.items():
        with pytest.raises(ResourceException) as exc:
            cfg.put(**{key: value})
        assert exc.value.status_code == 400, (key, exc.value.content)
        assert key in (exc.value.errors or {}), (key, exc.value.errors)
    assert "mp0" not in cfg.get()
