"""Metastore failure modes on a real HMS: a lock left by a crashed writer fails the commit with
a message naming the table, the lock and how to release it (never released by us); a metastore
that is down or stalled reads as an error within the configured timeout, never a hang."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hive_metastore.ttypes import LockComponent, LockLevel, LockRequest, LockState, LockType

from reconciler.apply.errors import PermanentError
from reconciler.plan.change import Action
from reconciler.providers.iceberg.catalog import Catalogs
from reconciler.providers.iceberg.catalog_hive import CachingHiveCatalog
from reconciler.providers.iceberg.observe_tables import observe_tables
from reconciler.providers.iceberg.writer import IcebergApplier
from reconciler.report.outcome import Status
from reconciler.testing.pvesim import PveSim
from tests.e2e.conftest import make_workspace
from tests.integration.iceberg.table_helpers import converge, plan, table_spec

EVENTS = """
apiVersion: reconciler/v1
kind: Table
metadata: {name: events}
spec:
  catalog: lake
  namespace: locks
  name: events
  schema:
    - {name: id, type: long, required: true}
"""
# pyiceberg waits for a held lock with exponential back-off; short here, 4 tries by default.
FAST_LOCK_WAIT = {"lock-check-retries": "2", "lock-check-max-wait-time": "0.2"}


@pytest.fixture
def lake(tmp_path: Path, hms_uri: str) -> Iterator[Catalogs]:
    config = {"type": "hive", "uri": hms_uri, "warehouse": tmp_path.as_uri(), **FAST_LOCK_WAIT}
    cats = Catalogs({"lake": config}, tmp_path)
    yield cats
    catalog = cats.get("lake")
    if catalog.namespace_exists("locks"):
        for ident in catalog.list_tables("locks"):
            catalog.drop_table(ident)
        catalog.drop_namespace("locks")


def _crashed_writer_lock(catalog: CachingHiveCatalog) -> int:
    """What a writer killed mid-commit leaves: an exclusive table lock, never released."""
    component = LockComponent(
        type=LockType.EXCLUSIVE, level=LockLevel.TABLE, dbname="locks", tablename="events"
    )
    with catalog._client as client:
        response = client.lock(LockRequest(component=[component], user="spark", hostname="ct108"))
    assert response.state == LockState.ACQUIRED
    return int(response.lockid)


def test_a_stale_lock_fails_the_commit_clearly_and_stays_until_released(lake: Catalogs) -> None:
    spec = table_spec(EVENTS)
    converge(lake, (spec,))
    catalog = lake.get("lake")
    assert isinstance(catalog, CachingHiveCatalog)
    lock_id = _crashed_writer_lock(catalog)

    evolved = table_spec(EVENTS + "    - {name: body, type: string}\n")
    (line,) = plan(lake, (evolved,))
    assert line.action is Action.UPDATE
    applier = IcebergApplier(lake)
    with pytest.raises(PermanentError) as failed:
        applier.apply(line)
    message = str(failed.value)
    assert "table/lake.locks.events" in message
    assert f"lock {lock_id} (EXCLUSIVE, ACQUIRED) by spark@ct108" in message
    assert f"reconcile force-unlock lake.locks.events {lock_id}" in message
    assert "never releases a lock on its own" in message
    # nothing was written, and the lock is still there: only a person releases it
    assert catalog.load_table("locks.events").schema().column_names == ["id"]
    assert [lock.lock_id for lock in catalog.locks_on("locks.events")] == [lock_id]

    with pytest.raises(LookupError, match=f"lock {lock_id + 1000} is not on"):
        catalog.force_unlock("locks.events", lock_id + 1000)
    released = catalog.force_unlock("locks.events", lock_id)
    assert released.user == "spark" and catalog.locks_on("locks.events") == ()
    assert applier.apply(line).status is Status.APPLIED
    assert catalog.load_table("locks.events").schema().column_names == ["id", "body"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_metastore_that_is_down_reads_as_an_error_at_once(tmp_path: Path) -> None:
    uri = f"thrift://127.0.0.1:{_free_port()}"  # nothing listens there
    cats = Catalogs({"lake": {"type": "hive", "uri": uri}}, tmp_path)
    began = time.monotonic()
    inventory = observe_tables(cats, catalog_names=("lake",))
    assert time.monotonic() - began < 5
    assert inventory.tables == () and dict(inventory.errors)["lake"], inventory


@pytest.fixture
def stalled_metastore() -> Iterator[str]:
    """Accepts connections and never answers (a metastore stuck on its database)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"thrift://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_stalled_metastore_times_out_within_the_configured_bound(
    tmp_path: Path, stalled_metastore: str
) -> None:
    config = {
        "type": "hive",
        "uri": stalled_metastore,
        "hive.metastore.client.socket.timeout": "1.5s",
    }
    cats = Catalogs({"lake": config}, tmp_path)
    began = time.monotonic()
    inventory = observe_tables(cats, catalog_names=("lake",))
    elapsed = time.monotonic() - began
    assert 1.4 <= elapsed < 6, elapsed
    message = dict(inventory.errors)["lake"]
    assert message == (
        f"the metastore at {stalled_metastore.removeprefix('thrift://')} did not answer "
        "within 1.5 s (hive.metastore.client.socket.timeout)"
    )


def test_with_the_metastore_stalled_containers_apply_and_tables_read_unknown(
    tmp_path: Path, pvesim: PveSim, stalled_metastore: str
) -> None:
    extra = (
        f"catalogs:\n  lake:\n    type: hive\n    uri: {stalled_metastore}\n"
        "    hive.metastore.client.socket.timeout: 2\n"
    )
    ws = make_workspace(tmp_path, pvesim, extra=extra)
    (ws.specs / "tables").mkdir()
    (ws.specs / "tables" / "events.yaml").write_text(EVENTS)
    began = time.monotonic()
    done = ws.run("apply", "--yes")
    assert done.returncode == 1, done.stdout + done.stderr
    assert time.monotonic() - began < 90
    guests = {str(c["name"]) for c in pvesim.api().nodes("pve").lxc.get()}
    assert {p.stem for p in (ws.specs / "containers").glob("*.yaml")} <= guests
    planned = ws.run("plan", "--output", "json")
    assert planned.returncode == 1, planned.stderr  # an unknown line
    changes = json.loads(planned.stdout)["changes"]
    lines = {(c["address"], c["action"]): c["reason"] for c in changes}
    assert list(lines) == [("table/lake.locks.events", "unknown")], lines
    assert "did not answer within 2 s" in lines[("table/lake.locks.events", "unknown")]


def test_the_cli_names_the_stale_lock_and_force_unlock_releases_it(
    tmp_path: Path, pvesim: PveSim, lake: Catalogs, hms_uri: str
) -> None:
    waits = "".join(f'    {k}: "{v}"\n' for k, v in FAST_LOCK_WAIT.items())
    extra = f"catalogs:\n  lake:\n    type: hive\n    uri: {hms_uri}\n{waits}"
    ws = make_workspace(tmp_path, pvesim, extra=extra)
    for spec in (ws.specs / "containers").glob("*.yaml"):
        spec.unlink()
    (ws.specs / "tables").mkdir()
    spec = ws.specs / "tables" / "events.yaml"
    spec.write_text(EVENTS)
    assert ws.run("apply", "--yes").returncode == 0
    catalog = lake.get("lake")
    assert isinstance(catalog, CachingHiveCatalog)
    lock_id = _crashed_writer_lock(catalog)

    spec.write_text(EVENTS + "    - {name: body, type: string}\n")
    failed = ws.run("apply", "--yes")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    command = f"reconcile force-unlock lake.locks.events {lock_id}"
    assert command in failed.stdout + failed.stderr

    unconfirmed = ws.run("force-unlock", "lake.locks.events", str(lock_id))  # stdin not a tty
    assert unconfirmed.returncode == 1 and "use --yes" in unconfirmed.stderr
    wrong = ws.run("force-unlock", "lake.locks.events", str(lock_id + 1000), "--yes")
    assert wrong.returncode == 1 and f"locks there: {lock_id}" in wrong.stderr
    assert [lock.lock_id for lock in catalog.locks_on("locks.events")] == [lock_id]

    released = ws.run("force-unlock", "lake.locks.events", str(lock_id), "--yes")
    assert released.returncode == 0, released.stdout + released.stderr
    assert "spark@ct108" in released.stdout and catalog.locks_on("locks.events") == ()
    assert ws.run("apply", "--yes").returncode == 0
    assert catalog.load_table("locks.events").schema().column_names == ["id", "body"]
