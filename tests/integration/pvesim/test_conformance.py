"""Every parameter the simulator accepts exists in PVE 8.3 with the same type (and 9.x gating)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from proxmoxer import ResourceException

from reconciler.testing.pvesim import PveSim
from reconciler.testing.pvesim.schema import create_params, propstr_format, update_params

from .helpers import create_ct, wait

REFERENCE = Path("/work/shared/reference/pve-api-lxc.json")

_COMMON = {
    "arch": "string",
    "cmode": "string",
    "console": "boolean",
    "cores": "integer",
    "cpulimit": "number",
    "cpuunits": "integer",
    "debug": "boolean",
    "description": "string",
    "dev[n]": "string",
    "features": "string",
    "hookscript": "string",
    "hostname": "string",
    "lock": "string",
    "memory": "integer",
    "mp[n]": "string",
    "nameserver": "string",
    "net[n]": "string",
    "node": "string",
    "onboot": "boolean",
    "ostype": "string",
    "protection": "boolean",
    "rootfs": "string",
    "searchdomain": "string",
    "startup": "string",
    "swap": "integer",
    "tags": "string",
    "template": "boolean",
    "timezone": "string",
    "tty": "integer",
    "unprivileged": "boolean",
    "unused[n]": "string",
    "vmid": "integer",
}
# PVE 8.3 POST /nodes/{node}/lxc and PUT /nodes/{node}/lxc/{vmid}/config, written from the facts
PVE83_CREATE = {
    **_COMMON,
    "bwlimit": "number",
    "force": "boolean",
    "ignore-unpack-errors": "boolean",
    "ostemplate": "string",
    "password": "string",
    "pool": "string",
    "restore": "boolean",
    "ssh-public-keys": "string",
    "start": "boolean",
    "storage": "string",
    "unique": "boolean",
}
PVE83_UPDATE = {**_COMMON, "delete": "string", "digest": "string", "revert": "string"}
PVE83_PROPSTR = {
    "net": {
        "name": "string",
        "bridge": "string",
        "firewall": "boolean",
        "gw": "string",
        "gw6": "string",
        "hwaddr": "string",
        "ip": "string",
        "ip6": "string",
        "link_down": "boolean",
        "mtu": "integer",
        "rate": "number",
        "tag": "integer",
        "trunks": "string",
        "type": "string",
    },
    "rootfs": {
        "volume": "string",
        "acl": "boolean",
        "mountoptions": "string",
        "quota": "boolean",
        "replicate": "boolean",
        "ro": "boolean",
        "shared": "boolean",
        "size": "string",
    },
    "features": {
        "force_rw_sys": "boolean",
        "fuse": "boolean",
        "keyctl": "boolean",
        "mknod": "boolean",
        "mount": "string",
        "nesting": "boolean",
    },
    "dev": {
        "path": "string",
        "deny-write": "boolean",
        "gid": "integer",
        "mode": "string",
        "uid": "integer",
    },
    "unused": {"volume": "string"},
}
PVE83_PROPSTR["mp"] = {**PVE83_PROPSTR["rootfs"], "mp": "string", "backup": "boolean"}
PVE9_ONLY = {"entrypoint", "env", "ha-managed"}


@pytest.mark.parametrize(
    ("ours", "theirs"), [(create_params("8.3"), PVE83_CREATE), (update_params("8.3"), PVE83_UPDATE)]
)
def test_parameters_exist_in_pve83_with_same_type(
    ours: dict[str, Any], theirs: dict[str, str]
) -> None:
    assert {k: p.kind for k, p in ours.items()} == theirs


def test_property_string_subkeys_match_pve83() -> None:
    for name, subkeys in PVE83_PROPSTR.items():
        assert {k: p.kind for k, p in propstr_format(name, "8.3").items()} == subkeys, name


def test_against_reference_json_when_present() -> None:
    if not REFERENCE.exists():
        pytest.skip("reference schema not available")
    ref = json.loads(REFERENCE.read_text())
    pairs = [
        ("POST /nodes/{node}/lxc", create_params("8.3")),
        ("PUT /nodes/{node}/lxc/{vmid}/config", update_params("8.3")),
    ]
    for key, ours in pairs:
        props = ref["endpoints_pve83"][key]["parameters"]["properties"]
        for name, spec in ours.items():
            assert name in props, (key, name)
            theirs = props[name]
            assert spec.kind == theirs["type"], (key, name)
            assert spec.optional == bool(theirs.get("optional")), (key, name)
            if "enum" in theirs:
                assert set(spec.enum) == set(theirs["enum"]), (key, name)
            for ours_val, ref_key in (
                (spec.minimum, "minimum"),
                (spec.maximum, "maximum"),
                (spec.max_length, "maxLength"),
            ):
                if ref_key in theirs and name != "bwlimit":
                    assert ours_val == float(theirs[ref_key]), (key, name, ref_key)
    for fmt_name, ref_name in (
        ("net", "net[n]"),
        ("mp", "mp[n]"),
        ("rootfs", "rootfs"),
        ("features", "features"),
        ("dev", "dev[n]"),
    ):
        ref_fmt = ref["property_string_formats_pve83"][ref_name]["format"]
        for sub, spec in propstr_format(fmt_name, "8.3").items():
            assert spec.kind == ref_fmt[sub]["type"], (fmt_name, sub)
            assert spec.optional == bool(ref_fmt[sub].get("optional")), (fmt_name, sub)


def test_pve9_keys_only_on_pve9(pvesim_factory: Callable[..., PveSim]) -> None:
    assert not PVE9_ONLY & set(create_params("8.3"))
    old = pvesim_factory(version="8.3").api()
    with pytest.raises(ResourceException) as exc:
        create_ct(old, 100, entrypoint="/sbin/init")
    assert exc.value.errors == {
        "entrypoint": "property is not defined in schema and the "
        "schema does not allow additional properties"
    }
    with pytest.raises(ResourceException) as exc:
        create_ct(old, 100, net0="name=eth0,bridge=vmbr0,host-managed=1")
    assert "invalid key in comma-separated list property: host-managed" in exc.value.errors["net0"]
    new = pvesim_factory(version="9.0").api()
    status = create_ct(new, 100, entrypoint="/sbin/init", **{"ha-managed": 0})
    assert status["exitstatus"] == "OK"
    new.nodes("pve").lxc(100).config.put(net0="name=eth0,bridge=vmbr0,host-managed=1")
    assert "host-managed=1" in new.nodes("pve").lxc(100).config.get()["net0"]
    assert wait(new, new.nodes("pve").lxc(100).status.start.post())["exitstatus"] == "OK"
