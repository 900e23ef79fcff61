"""SQLite history of cycles (plan, outcomes, drift, errors) in the state dir; no policy."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.diff.backoff import MaintenanceFailure
from reconciler.diff.compaction_tuning import RewriteRun

DB_NAME = "history.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cycles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  seconds REAL NOT NULL,
  revision TEXT,
  trigger TEXT NOT NULL,
  result TEXT NOT NULL,
  summary TEXT NOT NULL,
  error TEXT
);
CREATE TABLE IF NOT EXISTS actions (
  cycle_id INTEGER NOT NULL REFERENCES cycles(id),
  address TEXT NOT NULL,
  action TEXT NOT NULL,
  status TEXT NOT NULL,
  message TEXT NOT NULL,
  seconds REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS drift (
  cycle_id INTEGER NOT NULL REFERENCES cycles(id),
  address TEXT NOT NULL,
  field TEXT NOT NULL,
  action TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS drift_cycle ON drift(cycle_id);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS maintenance_failures (
  address TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  last_attempt TEXT NOT NULL,
  fingerprint TEXT NOT NULL
);
"""


# An applied rewrite_data_files outcome (providers.spark.summary.describe): bytes, seconds.
_REWROTE = re.compile(r"rewrote \d+ data files into \d+ \((\d+) bytes\) in (\d+(?:\.\d+)?)s")
HISTORY_RUNS = 20  # a table's newest rewrites that estimate its next one

_WHO = {"user", "host", "command"}
_ADDED = {*_WHO, "reason"}  # columns newer than the first databases


@dataclass(frozen=True)
class ActionRecord:
    address: str
    action: str
    status: str
    message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class CycleRecord:
    """One finished cycle; `drift` holds (address, field path, action) seen at plan time."""

    started_at: str
    finished_at: str
    seconds: float
    revision: str | None
    trigger: str
    result: str  # success | failed | rejected (report.conditions.CycleResult)
    reason: str | None = None  # report.conditions.Reason; None in records made before it
    summary: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    actions: tuple[ActionRecord, ...] = ()
    drift: tuple[tuple[str, str, str], ...] = ()
    id: int | None = None
    # who ran it: set for CLI applies (trigger "cli"), None for the daemon's own cycles
    user: str | None = None
    host: str | None = None
    command: str | None = None


class Store:
    """History database; each call opens a short connection (safe across processes)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / DB_NAME
        state_dir.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            have = {str(r["name"]) for r in db.execute("PRAGMA table_info(cycles)")}
            for column in sorted(_ADDED - have):  # databases made before these existed
                db.execute(f"ALTER TABLE cycles ADD COLUMN {column} TEXT")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            with db:  # one transaction per call
                yield db

    def record(self, cycle: CycleRecord) -> int:
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO cycles (started_at, finished_at, seconds, revision, trigger, result,"
                " summary, error, user, host, command, reason)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cycle.started_at,
                    cycle.finished_at,
                    cycle.seconds,
                    cycle.revision,
                    cycle.trigger,
                    cycle.result,
                    json.dumps(cycle.summary, sort_keys=True),
                    cycle.error,
                    cycle.user,
                    cycle.host,
                    cycle.command,
                    cycle.reason,
                ),
            )
            cycle_id = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO actions VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (cycle_id, a.address, a.action, a.status, a.message, a.seconds)
                    for a in cycle.actions
                ],
            )
            db.executemany(
                "INSERT INTO drift VALUES (?, ?, ?, ?)",
                [(cycle_id, address, path, action) for address, path, action in cycle.drift],
            )
        return cycle_id

    def cycles(self, limit: int) -> list[CycleRecord]:
        """The newest `limit` cycles, newest first, with their actions and drift."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM cycles ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
            return [self._load(db, row) for row in rows]

    def last(self, result: str | None = None) -> CycleRecord | None:
        with self._connect() as db:
            if result is None:
                row = db.execute("SELECT * FROM cycles ORDER BY id DESC LIMIT 1").fetchone()
            else:
                row = db.execute(
                    "SELECT * FROM cycles WHERE result = ? ORDER BY id DESC LIMIT 1", (result,)
                ).fetchone()
            return self._load(db, row) if row is not None else None

    def last_daemon_cycle(self) -> CycleRecord | None:
        """The newest cycle the daemon ran (CLI applies, trigger `cli`, left out)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM cycles WHERE trigger != 'cli' ORDER BY id DESC LIMIT 1"
            ).fetchone()
            return self._load(db, row) if row is not None else None

    def planned_cycles(self, limit: int = 1000) -> Iterator[tuple[str, set[tuple[str, str]]]]:
        """(started_at, {(address, field)}) of cycles that got as far as a plan, newest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, started_at FROM cycles WHERE result != 'rejected' AND"
                " (error IS NULL OR error = '') ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            for row in rows:
                pairs = db.execute(
                    "SELECT address, field FROM drift WHERE cycle_id = ?", (row["id"],)
                ).fetchall()
                yield str(row["started_at"]), {(p["address"], p["field"]) for p in pairs}

    def get(self, key: str) -> Any:
        with self._connect() as db:
            row = db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return json.loads(row["value"]) if row is not None else None

    def put(self, **values: Any) -> None:
        with self._connect() as db:
            db.executemany(
                "INSERT INTO state (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [(k, json.dumps(v)) for k, v in values.items()],
            )

    def rewrite_history(self, per_table: int = HISTORY_RUNS) -> dict[str, list[RewriteRun]]:
        """Each table's newest applied rewrite_data_files runs (bytes, procedure seconds),
        newest first, at most `per_table` of them."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT address, message FROM actions WHERE action = 'rewrite_data_files'"
                " AND status = 'applied' ORDER BY rowid DESC"
            ).fetchall()
        runs: dict[str, list[RewriteRun]] = {}
        for row in rows:
            match = _REWROTE.fullmatch(str(row["message"]))
            kept = runs.setdefault(str(row["address"]), [])
            if match and len(kept) < per_table:
                kept.append(RewriteRun(int(match.group(1)), float(match.group(2))))
        return {address: kept for address, kept in runs.items() if kept}

    def maintenance_failures(self) -> dict[str, MaintenanceFailure]:
        """Tables whose last maintenance failed (backoff state), by address."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM maintenance_failures ORDER BY address").fetchall()
        return {
            str(r["address"]): MaintenanceFailure(
                str(r["address"]),
                int(r["failures"]),
                str(r["last_error"]),
                datetime.fromisoformat(str(r["last_attempt"])),
                str(r["fingerprint"]),
            )
            for r in rows
        }

    def save_maintenance_failures(
        self, failed: Sequence[MaintenanceFailure], succeeded: Sequence[str] = ()
    ) -> None:
        """Upsert the records of tables that failed again; forget those that succeeded."""
        with self._connect() as db:
            db.executemany(
                "INSERT INTO maintenance_failures VALUES (?, ?, ?, ?, ?) ON CONFLICT(address)"
                " DO UPDATE SET failures = excluded.failures, last_error = excluded.last_error,"
                " last_attempt = excluded.last_attempt, fingerprint = excluded.fingerprint",
                [
                    (f.address, f.failures, f.last_error, f.last_attempt.isoformat(), f.fingerprint)
                    for f in failed
                ],
            )
            db.executemany(
                "DELETE FROM maintenance_failures WHERE address = ?", [(a,) for a in succeeded]
            )

    @staticmethod
    def _load(db: sqlite3.Connection, row: sqlite3.Row) -> CycleRecord:
        cycle_id = int(row["id"])
        actions: Sequence[sqlite3.Row] = db.execute(
            "SELECT * FROM actions WHERE cycle_id = ?", (cycle_id,)
        ).fetchall()
        drift: Sequence[sqlite3.Row] = db.execute(
            "SELECT * FROM drift WHERE cycle_id = ?", (cycle_id,)
        ).fetchall()
        return CycleRecord(
            id=cycle_id,
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            seconds=float(row["seconds"]),
            revision=row["revision"],
            trigger=row["trigger"],
            result=row["result"],
            reason=row["reason"],
            summary=json.loads(row["summary"]),
            error=row["error"],
            actions=tuple(
                ActionRecord(a["address"], a["action"], a["status"], a["message"], a["seconds"])
                for a in actions
            ),
            drift=tuple((d["address"], d["field"], d["action"]) for d in drift),
            user=row["user"],
            host=row["host"],
            command=row["command"],
        )
