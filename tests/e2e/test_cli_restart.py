"""CLI on the simulator: a changed dns.domain on a running CT with `restart: window` is set
but not rebooted outside its window; `apply --allow-restart --target` reboots that CT only."""

from __future__ import annotations

from tests.e2e.conftest import Workspace


def _reboots(ws: Workspace, vmid: int) -> int:
    tasks = ws.sim.state()["tasks"]
    return sum(1 for t in tasks if t["type"] == "vzreboot" and t["id"] == str(vmid))


def test_dns_domain_change_waits_for_the_window_or_allow_restart(workspace: Workspace) -> None:
    ws = workspace
    # the nightly window never opens during the test: one minute a year (Feb 29 00:00 UTC)
    ws.edit("kafka", 'schedule: "0 3 * * *", duration: 2h', 'schedule: "0 0 29 2 *", duration: 1m')
    done = ws.run("apply", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    ws.edit("kafka", "domain: gti.local", "domain: lake.example")
    plan = ws.plan_json()
    kafka = [c for c in plan["changes"] if c["address"] == "container/kafka"]
    assert [c["action"] for c in kafka] == ["update", "deferred"]
    assert "next window starts" in kafka[1]["reason"]
    done = ws.run("apply", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    pending = ws.sim.api().nodes("pve").lxc(109).pending.get()
    assert any(r["key"] == "searchdomain" and r.get("pending") == "lake.example" for r in pending)
    assert _reboots(ws, 109) == 0
    done = ws.run("apply", "--yes", "--allow-restart", "--target", "container/kafka")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _reboots(ws, 109) == 1
    assert ws.sim.api().nodes("pve").lxc(109).config.get()["searchdomain"] == "lake.example"
    assert sum(_reboots(ws, vmid) for vmid in range(100, 130) if vmid != 109) == 0
