"""Writes applied whose answer is lost (dropped connection or a bare 596) and the request gate."""

from __future__ import annotations

import threading

import pytest
import requests
from proxmoxer import ResourceException

from reconciler.testing.pvesim import Faults, PveSim

from .helpers import create_ct, raw


def test_a_lost_answer_is_applied_and_the_connection_is_cut(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api)
    pvesim.set_faults(Faults(lost_answer_rate=1.0))
    assert api.version.get()["release"] == "8.3"  # reads are never lost
    with pytest.raises(requests.exceptions.ConnectionError):
        api.nodes("pve").lxc(100).config.put(memory=2048)
    pvesim.set_faults(Faults())
    assert api.nodes("pve").lxc(100).config.get()["memory"] == 2048  # applied all the same
    last = pvesim.requests()[-2]
    assert (last.method, last.status, last.answer_lost) == ("PUT", 200, True)


def test_a_lost_answer_in_596_mode_and_only_for_writes_that_succeeded(pvesim: PveSim) -> None:
    api = pvesim.api()
    create_ct(api)
    pvesim.set_faults(Faults(lost_answer_rate=1.0, lost_answer_mode="596"))
    with pytest.raises(ResourceException) as exc:
        api.nodes("pve").lxc(100).config.put(cores=3)
    assert exc.value.status_code == 596
    with pytest.raises(ResourceException) as refused:  # PVE refused it: that answer arrives
        api.nodes("pve").lxc(100).config.put(cores=0)
    assert refused.value.status_code == 400
    pvesim.set_faults(Faults())
    assert api.nodes("pve").lxc(100).config.get()["cores"] == 3
    assert [r.answer_lost for r in pvesim.requests() if r.method == "PUT"] == [True, False]


def test_lost_answers_are_seeded_and_leave_the_other_streams_alone(pvesim: PveSim) -> None:
    def run(faults: Faults) -> list[int]:
        pvesim.set_faults(faults)
        return [
            raw(pvesim, "POST", "/nodes/pve/lxc/999/status/start").status_code for _ in range(20)
        ]

    plain = run(Faults(error_rate=0.5, status=596, seed=3))
    # the start of a missing CT never succeeds, so no answer is lost; the error stream is the same
    assert run(Faults(error_rate=0.5, status=596, seed=3, lost_answer_rate=0.5)) == plain
    with pytest.raises(ValueError, match="lost_answer_mode"):
        Faults.from_json({"lost_answer_mode": "maybe"})
    back = Faults.from_json(Faults(lost_answer_rate=0.25, lost_answer_mode="596").to_json())
    assert (back.lost_answer_rate, back.lost_answer_mode) == (0.25, "596")


def test_the_gate_holds_requests_after_the_nth_until_released(pvesim: PveSim) -> None:
    api = pvesim.api()
    assert pvesim.core is not None
    gate = pvesim.core.gate
    admin = requests.put(
        pvesim.url + "/_sim/gate", json={"after": 2}, verify=pvesim.ca_file, timeout=10
    )
    assert admin.json()["data"] == {"after": 2, "passed": 0, "held": 0}
    api.version.get()
    api.nodes.get()
    results: list[object] = []
    held = threading.Thread(target=lambda: results.append(api.version.get()), daemon=True)
    held.start()
    assert gate.wait_held(1, timeout=10)
    assert results == [] and len(pvesim.requests()) == 2
    gate.release()
    held.join(timeout=10)
    assert results and len(pvesim.requests()) == 3

    gate.close_after(0)
    cut: list[BaseException] = []

    def attempt() -> None:
        try:
            api.nodes("pve").lxc.post(vmid=150, ostemplate="x", rootfs="local-lvm:8")
        except requests.exceptions.ConnectionError as exc:
            cut.append(exc)

    dropped = threading.Thread(target=attempt, daemon=True)
    dropped.start()
    assert gate.wait_held(1, timeout=10)
    gate.release(drop=True)
    dropped.join(timeout=10)
    assert cut and len(pvesim.requests()) == 3  # the held request was never served
    bad = requests.put(
        pvesim.url + "/_sim/gate", json={"after": -1}, verify=pvesim.ca_file, timeout=10
    )
    assert bad.status_code == 400
