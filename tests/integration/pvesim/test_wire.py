"""Wire format, authentication and parameter verification of the simulator (raw HTTP)."""

from __future__ import annotations

import requests
from proxmoxer import ProxmoxAPI

from reconciler.testing.pvesim import PveSim

from .helpers import TEMPLATE, create_ct, raw


def test_envelope_and_version(pvesim: PveSim) -> None:
    resp = raw(pvesim, "GET", "/version")
    assert resp.status_code == 200
    assert resp.json() == {
        "data": {
            "version": "8.3.2",
            "release": "8.3",
            "repoid": "3e76eec21c4a14a7",
            "console": "xtermjs",
        }
    }


def test_unknown_path_is_501_with_pve_text(pvesim: PveSim) -> None:
    resp = raw(pvesim, "GET", "/nodes/pve/lxc/100/foo")
    assert resp.status_code == 501
    assert resp.reason == "Method 'GET /nodes/pve/lxc/100/foo' not implemented"
    assert resp.json() == {
        "data": None,
        "message": "Method 'GET /nodes/pve/lxc/100/foo' not implemented\n",
    }
    assert raw(pvesim, "DELETE", "/version").status_code == 501


def test_no_auth_is_401(pvesim: PveSim) -> None:
    resp = requests.get(f"{pvesim.url}/api2/json/version", verify=pvesim.ca_file, timeout=10)
    assert resp.status_code == 401
    bad = raw(
        pvesim,
        "GET",
        "/version",
        headers={"Authorization": "PVEAPIToken=root@pam!reconciler=wrong"},
    )
    assert bad.status_code == 401


def test_form_boolean_true_is_rejected(pvesim: PveSim) -> None:
    resp = raw(
        pvesim,
        "POST",
        "/nodes/pve/lxc",
        data={"vmid": "100", "ostemplate": TEMPLATE, "onboot": "True"},
    )
    assert resp.status_code == 400
    assert resp.reason == "Parameter verification failed."
    body = resp.json()
    assert body["data"] is None
    assert body["errors"] == {"onboot": "type check ('boolean') failed - got 'True'"}
    lower = raw(
        pvesim,
        "POST",
        "/nodes/pve/lxc",
        data={"vmid": "100", "ostemplate": TEMPLATE, "onboot": "true"},
    )
    assert lower.json()["errors"] == {"onboot": "type check ('boolean') failed - got 'true'"}
    assert pvesim.requests()[-1].status == 400


def test_json_body_may_use_true(pvesim: PveSim) -> None:
    resp = raw(
        pvesim,
        "POST",
        "/nodes/pve/lxc",
        json={"vmid": 100, "ostemplate": TEMPLATE, "rootfs": "local-lvm:8", "onboot": True},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["data"].startswith("UPID:pve:")
    conf = raw(pvesim, "GET", "/nodes/pve/lxc/100/config").json()["data"]
    assert conf["onboot"] == 1


def test_unknown_missing_type_range_enum_pattern(pvesim: PveSim) -> None:
    resp = raw(
        pvesim,
        "POST",
        "/nodes/pve/lxc",
        data={
            "vmid": "99",
            "foo": "1",
            "memory": "abc",
            "ostype": "windows",
            "tty": "7",
            "hostname": "bad_name",
            "password": "abc",
        },
    )
    errors = resp.json()["errors"]
    assert resp.status_code == 400
    assert errors == {
        "foo": "property is not defined in schema and the schema does not allow additional "
        "properties",
        "ostemplate": "property is missing and it is not optional",
        "vmid": "value must have a minimum value of 100",
        "memory": "type check ('integer') failed - got 'abc'",
        "ostype": "value 'windows' does not have a value in the enumeration 'debian, devuan, "
        "ubuntu, centos, fedora, opensuse, archlinux, alpine, gentoo, nixos, unmanaged'",
        "tty": "value must have a maximum value of 6",
        "hostname": "invalid format - value does not look like a valid DNS name\n",
        "password": "value must be at least 5 characters long",
    }


def test_malformed_property_strings(pvesim: PveSim) -> None:
    resp = raw(
        pvesim,
        "POST",
        "/nodes/pve/lxc",
        data={
            "vmid": "100",
            "ostemplate": TEMPLATE,
            "net0": "bridge=vmbr0",
            "net1": "name=eth1,foo=1",
            "net2": "name=eth2,ip=x,ip=y",
            "rootfs": "local-lvm:8,mountoptions=noatime;bogus",
            "mp0": "local-lvm:4",
            "features": "nesting=maybe",
            "startup": "order=1,later=2",
            "net3": "name=e,mtu=10",
        },
    )
    errors = resp.json()["errors"]
    assert errors["net0"] == (
        "invalid format - format error\nnet0.name: property is missing and it is not optional\n"
    )
    assert errors["net1"] == "invalid format - invalid key in comma-separated list property: foo"
    assert errors["net2"] == "invalid format - duplicate key in comma-separated list property: ip"
    assert errors["rootfs"] == (
        "invalid format - format error\n"
        "rootfs.mountoptions: value does not match the regex pattern\n"
    )
    assert errors["mp0"] == (
        "invalid format - format error\nmp0.mp: property is missing and it is not optional\n"
    )
    assert errors["features"].startswith(
        "invalid format - format error\nfeatures.nesting: type check ('boolean') failed"
    )
    assert errors["startup"] == "invalid format - unable to parse startup options\n"
    assert errors["net3"] == (
        "invalid format - format error\nnet3.mtu: value must have a minimum value of 64\n"
    )


def test_nextid_is_a_json_string_and_taken_vmid_400(pvesim: PveSim) -> None:
    assert raw(pvesim, "GET", "/cluster/nextid").json() == {"data": "100"}
    create_ct(pvesim.api(), 100)
    assert raw(pvesim, "GET", "/cluster/nextid").json() == {"data": "101"}
    taken = raw(pvesim, "GET", "/cluster/nextid", params={"vmid": "100"})
    assert taken.status_code == 400
    assert taken.json()["errors"] == {"vmid": "VM 100 already exists"}


def test_ticket_login_and_csrf(pvesim: PveSim) -> None:
    bad = requests.post(
        f"{pvesim.url}/api2/json/access/ticket",
        verify=pvesim.ca_file,
        data={"username": "root@pam", "password": "nope"},
        timeout=10,
    )
    assert bad.status_code == 401
    assert bad.reason == "authentication failure"
    good = requests.post(
        f"{pvesim.url}/api2/json/access/ticket",
        verify=pvesim.ca_file,
        data={"username": "root@pam", "password": "rootpw"},
        timeout=10,
    )
    data = good.json()["data"]
    assert data["username"] == "root@pam" and data["ticket"].startswith("PVE:root@pam:")
    cookies = {"PVEAuthCookie": data["ticket"]}
    url = f"{pvesim.url}/api2/json/nodes/pve/lxc"
    assert requests.get(url, cookies=cookies, verify=pvesim.ca_file, timeout=10).json() == {
        "data": []
    }
    no_csrf = requests.post(
        url,
        cookies=cookies,
        verify=pvesim.ca_file,
        timeout=10,
        data={"vmid": "100", "ostemplate": TEMPLATE, "rootfs": "local-lvm:8"},
    )
    assert no_csrf.status_code == 401
    ok = requests.post(
        url,
        cookies=cookies,
        verify=pvesim.ca_file,
        timeout=10,
        headers={"CSRFPreventionToken": data["CSRFPreventionToken"]},
        data={"vmid": "100", "ostemplate": TEMPLATE, "rootfs": "local-lvm:8"},
    )
    assert ok.status_code == 200
    assert ok.json()["data"].endswith(":vzcreate:100:root@pam:")


def test_proxmoxer_password_login_and_renewal(pvesim: PveSim) -> None:
    api = ProxmoxAPI(
        pvesim.host,
        port=pvesim.port,
        user="root@pam",
        password="rootpw",
        verify_ssl=pvesim.ca_file,
        timeout=30,
    )
    assert api.nodes.get()[0]["node"] == "pve"
    ticket = api.get_tokens()[0]
    renewed = requests.post(
        f"{pvesim.url}/api2/json/access/ticket",
        verify=pvesim.ca_file,
        data={"username": "root@pam", "password": ticket},
        timeout=10,
    )
    assert renewed.status_code == 200 and renewed.json()["data"]["ticket"] != ticket


def test_upid_raw_and_percent_encoded(pvesim: PveSim) -> None:
    status = create_ct(pvesim.api())
    upid = status["upid"]
    enc = upid.replace(":", "%3A").replace("@", "%40").replace("!", "%21")
    for form in (upid, enc):
        resp = raw(pvesim, "GET", f"/nodes/pve/tasks/{form}/status")
        assert resp.status_code == 200
        assert resp.json()["data"]["exitstatus"] == "OK"
    bad = raw(pvesim, "GET", "/nodes/pve/tasks/UPID:nope/status")
    assert bad.status_code == 400
    assert bad.json()["errors"] == {"upid": "unable to parse worker upid 'UPID:nope'"}
    unknown = raw(
        pvesim, "GET", "/nodes/pve/tasks/" + upid.replace(":vzcreate:", ":vzstart:") + "/status"
    )
    assert unknown.json()["errors"] == {"upid": "no such task"}


def test_request_log_records_and_masks(pvesim: PveSim) -> None:
    pvesim.clear_requests()
    raw(pvesim, "GET", "/cluster/resources", params={"type": "vm"})
    requests.post(
        f"{pvesim.url}/api2/json/access/ticket",
        verify=pvesim.ca_file,
        timeout=10,
        data={"username": "root@pam", "password": "rootpw"},
    )
    log = pvesim.requests()
    assert [(r.method, r.path, r.status) for r in log] == [
        ("GET", "/cluster/resources", 200),
        ("POST", "/access/ticket", 200),
    ]
    assert log[0].params == {"type": "vm"}
    assert log[1].params["password"] == "***"
    admin = requests.get(f"{pvesim.url}/_sim/requests", verify=pvesim.ca_file, timeout=10)
    assert [r["path"] for r in admin.json()["data"]] == ["/cluster/resources", "/access/ticket"]
    requests.delete(f"{pvesim.url}/_sim/requests", verify=pvesim.ca_file, timeout=10)
    assert pvesim.requests() == []
