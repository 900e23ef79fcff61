"""root@pam-only options: tokens get 403, a root@pam ticket may set them."""

from __future__ import annotations

import pytest
from proxmoxer import ResourceException

from reconciler.testing.pvesim import PveSim

from .helpers import TEMPLATE, create_ct, wait


def test_bind_mount_needs_root_ticket(pvesim: PveSim) -> None:
    token_api = pvesim.api()
    with pytest.raises(ResourceException) as exc:
        token_api.nodes("pve").lxc.post(
            vmid=100, ostemplate=TEMPLATE, rootfs="local-lvm:8", mp0="/tank/lake,mp=/srv/lake"
        )
    assert exc.value.status_code == 403
    assert exc.value.content == (
        "Permission check failed (mount point type bind is only allowed for root@pam)"
    )
    root = pvesim.api_password()
    status = create_ct(root, 100, mp0="/tank/lake,mp=/srv/lake")
    assert status["exitstatus"] == "OK" and status["user"] == "root@pam"
    assert root.nodes("pve").lxc(100).config.get()["mp0"] == "/tank/lake,mp=/srv/lake"


def test_feature_flags_with_token(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api, 100, features="nesting=1")
    cfg = api.nodes("pve").lxc(100).config
    with pytest.raises(ResourceException) as exc:
        cfg.put(features="nesting=1,keyctl=1")
    assert exc.value.status_code == 403
    assert exc.value.content == (
        "Permission check failed (changing feature flags (except "
        "nesting) is only allowed for root@pam)"
    )
    pvesim.api_password().nodes("pve").lxc(100).config.put(features="nesting=1,keyctl=1")
    assert cfg.get()["features"] == "keyctl=1,nesting=1"


def test_privileged_features_and_hookscript(pvesim: PveSim) -> None:
    api = pvesim.api()
    with pytest.raises(ResourceException) as exc:
        api.nodes("pve").lxc.post(
            vmid=100,
            ostemplate=TEMPLATE,
            rootfs="local-lvm:8",
            unprivileged=0,
            features="nesting=1",
        )
    assert exc.value.content == (
        "Permission check failed (changing feature flags for "
        "privileged container is only allowed for root@pam)"
    )
    create_ct(api, 101)
    for params in ({"hookscript": "local:snippets/hook.pl"}, {"dev0": "/dev/net/tun"}):
        with pytest.raises(ResourceException) as exc:
            api.nodes("pve").lxc(101).config.put(**params)
        assert exc.value.status_code == 403
    assert wait(api, api.nodes("pve").lxc(101).status.start.post())["exitstatus"] == "OK"
