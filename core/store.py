"""The dispatcher's memory: SQLite in WAL mode (stdlib ``sqlite3``), the embedded default.

Jobs, plans, missions, assignments, progress, events, vehicles and (downsampled) telemetry. Every state
change the dispatcher acknowledges to a vehicle is committed first, so a dispatcher killed at any moment
(SIGKILL included) restarts with every mission, assignment and acknowledged progress index intact. WAL
with ``synchronous=NORMAL`` makes each commit durable against a process crash (not against a power cut
of the host, which needs ``durable=True``: ``synchronous=FULL``).

The schema carries a version (``PRAGMA user_version``); :data:`MIGRATIONS` upgrades an older file in
place, inside one transaction, and a file written by a newer agrifleet is refused rather than damaged.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .messages import MissionPhase
from .plan import Plan
from .plan_io import plans_from_msgpack, plans_to_msgpack

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "JobRow", "JobState", "MissionRow", "Store"]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2

MIGRATIONS: dict[int, tuple[str, ...]] = {
    # version -> statements that bring a database of version - 1 up to it
    1: (
        """CREATE TABLE jobs (
            id INTEGER PRIMARY KEY, name TEXT NOT NULL, implement TEXT NOT NULL, vehicles TEXT NOT NULL,
            field BLOB, params TEXT NOT NULL, state TEXT NOT NULL, created_s REAL NOT NULL,
            updated_s REAL NOT NULL)""",
        """CREATE TABLE plans (
            id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL REFERENCES jobs(id), data BLOB NOT NULL,
            n_samples INTEGER NOT NULL, working_m REAL NOT NULL,
            source_mission INTEGER, source_start INTEGER, source_stop INTEGER)""",
        """CREATE TABLE missions (
            id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL REFERENCES jobs(id),
            plan_id INTEGER NOT NULL REFERENCES plans(id), vehicle TEXT NOT NULL, queue_pos INTEGER NOT NULL,
            phase INTEGER NOT NULL, acked_index INTEGER NOT NULL DEFAULT -1, coverage REAL NOT NULL DEFAULT 0,
            done_m REAL NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '', updated_s REAL NOT NULL)""",
        """CREATE TABLE assignments (
            id INTEGER PRIMARY KEY, mission_id INTEGER NOT NULL REFERENCES missions(id), vehicle TEXT NOT NULL,
            assigned_s REAL NOT NULL, released_s REAL, reason TEXT NOT NULL DEFAULT '')""",
        """CREATE TABLE progress (
            mission_id INTEGER NOT NULL REFERENCES missions(id), idx INTEGER NOT NULL, state INTEGER NOT NULL,
            coverage REAL NOT NULL, t_s REAL NOT NULL)""",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY, t_s REAL NOT NULL, vehicle TEXT NOT NULL, mission_id INTEGER,
            code INTEGER NOT NULL, severity INTEGER NOT NULL, text TEXT NOT NULL)""",
        """CREATE TABLE vehicles (
            id TEXT PRIMARY KEY, kind TEXT NOT NULL, driver TEXT NOT NULL, kinds TEXT NOT NULL,
            features TEXT NOT NULL, spec TEXT NOT NULL, last_seen_s REAL NOT NULL)""",
        """CREATE TABLE telemetry (
            vehicle TEXT NOT NULL, t_s REAL NOT NULL, x REAL, y REAL, z REAL, heading_rad REAL,
            speed_mps REAL, battery_pct REAL, tank_l REAL, mode TEXT, gnss INTEGER, state INTEGER,
            mission_id INTEGER, idx INTEGER)""",
        "CREATE INDEX missions_by_vehicle ON missions(vehicle, phase)",
        "CREATE INDEX progress_by_mission ON progress(mission_id, idx)",
    ),
    2: (
        # telemetry grew large in the field: look it up by vehicle and time; events by mission
        "CREATE INDEX telemetry_by_vehicle ON telemetry(vehicle, t_s)",
        "CREATE INDEX events_by_mission ON events(mission_id)",
    ),
}


class JobState:
    """Job states (stored as text; operators read them in ``job list``)."""

    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETE = "complete"
    ABORTED = "aborted"
    FAILED = "failed"
    FINAL = frozenset({"complete", "aborted", "failed"})


@dataclass(frozen=True, slots=True)
class JobRow:
    id: int
    name: str
    implement: str
    vehicles: tuple[str, ...]
    field: bytes | None
    params: dict[str, Any]
    state: str
    created_s: float
    updated_s: float


@dataclass(frozen=True, slots=True)
class MissionRow:
    id: int
    job_id: int
    plan_id: int
    vehicle: str
    queue_pos: int
    phase: MissionPhase
    acked_index: int
    coverage: float
    done_m: float
    reason: str


class Store:
    """One SQLite database file (or ``":memory:"``). Use from one thread; readers may open their own."""

    def __init__(self, path: str | os.PathLike[str], wall: Callable[[], float] = time.time,
                 durable: bool = False) -> None:
        self.path = os.fspath(path)
        self.wall = wall
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{self.path}: not a usable agrifleet database ({exc})") from None

    def close(self) -> None:
        self.db.close()

    # --- schema ----------------------------------------------------------------------------------------
    @property
    def version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.version
        if current > SCHEMA_VERSION:
            raise ConfigError(f"{self.path}: database schema version {current} is newer than this agrifleet "
                              f"understands ({SCHEMA_VERSION}); upgrade agrifleet")
        if current == SCHEMA_VERSION:
            return
        with self.transaction():
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    self.db.execute(statement)
                logger.info("%s: schema migrated to version %d", self.path, version)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def transaction(self) -> _Transaction:
        return _Transaction(self.db)

    # --- jobs, plans, missions -------------------------------------------------------------------------
    def add_job(self, name: str, implement: str, vehicles: Sequence[str], field: bytes | None,
                params: dict[str, Any]) -> int:
        now = self.wall()
        cur = self.db.execute(
            "INSERT INTO jobs(name, implement, vehicles, field, params, state, created_s, updated_s) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (name, implement, json.dumps(list(vehicles)), field, json.dumps(params), JobState.ACTIVE, now, now))
        return int(cur.lastrowid)

    def set_job_state(self, job_id: int, state: str) -> None:
        self.db.execute("UPDATE jobs SET state = ?, updated_s = ? WHERE id = ?", (state, self.wall(), job_id))

    def add_plan(self, job_id: int, plan: Plan, source: tuple[int, int, int] | None = None) -> int:
        m, a, b = source if source else (None, None, None)
        cur = self.db.execute(
            "INSERT INTO plans(job_id, data, n_samples, working_m, source_mission, source_start, source_stop) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (job_id, plans_to_msgpack([plan]), len(plan), plan.metrics.working_length_m
             + plan.metrics.headland_length_m, m, a, b))
        return int(cur.lastrowid)

    def plan(self, plan_id: int) -> Plan:
        row = self.db.execute("SELECT data FROM plans WHERE id = ?", (plan_id,)).fetchone()
        if row is None:
            raise KeyError(f"plan {plan_id}")
        return plans_from_msgpack(bytes(row[0]), f"plan {plan_id}")[0]

    def plan_bytes(self, plan_id: int) -> bytes:
        row = self.db.execute("SELECT data FROM plans WHERE id = ?", (plan_id,)).fetchone()
        if row is None:
            raise KeyError(f"plan {plan_id}")
        return bytes(row[0])

    def plan_sizes(self, job_id: int) -> dict[int, int]:
        return {int(r[0]): int(r[1]) for r in self.db.execute("SELECT id, n_samples FROM plans WHERE job_id = ?",
                                                              (job_id,))}

    def job_working_m(self, job_id: int) -> float:
        """Working length of the job's original plans (re-planned pieces are parts of those)."""
        row = self.db.execute("SELECT COALESCE(SUM(working_m), 0) FROM plans WHERE job_id = ? "
                              "AND source_mission IS NULL", (job_id,)).fetchone()
        return float(row[0])

    def add_mission(self, job_id: int, plan_id: int, vehicle: str, queue_pos: int,
                    phase: MissionPhase = MissionPhase.QUEUED, acked_index: int = -1) -> int:
        now = self.wall()
        cur = self.db.execute(
            "INSERT INTO missions(job_id, plan_id, vehicle, queue_pos, phase, acked_index, updated_s) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (job_id, plan_id, vehicle, queue_pos, int(phase), acked_index, now))
        mission_id = int(cur.lastrowid)
        self.db.execute("INSERT INTO assignments(mission_id, vehicle, assigned_s) VALUES (?, ?, ?)",
                        (mission_id, vehicle, now))
        return mission_id

    def set_phase(self, mission_id: int, phase: MissionPhase, reason: str = "") -> None:
        self.db.execute("UPDATE missions SET phase = ?, reason = ?, updated_s = ? WHERE id = ?",
                        (int(phase), reason, self.wall(), mission_id))
        if phase.is_final:
            self.db.execute("UPDATE assignments SET released_s = ?, reason = ? WHERE mission_id = ? "
                            "AND released_s IS NULL", (self.wall(), reason or phase.name.lower(), mission_id))

    def record_progress(self, mission_id: int, index: int, state: int, coverage: float, done_m: float) -> bool:
        """Store a progress report; returns False when it is not newer than the acknowledged index."""
        with self.transaction():
            row = self.db.execute("SELECT acked_index FROM missions WHERE id = ?", (mission_id,)).fetchone()
            if row is None or index <= row[0]:
                return False
            now = self.wall()
            self.db.execute("UPDATE missions SET acked_index = ?, coverage = ?, done_m = ?, updated_s = ? "
                            "WHERE id = ?", (index, coverage, done_m, now, mission_id))
            self.db.execute("INSERT INTO progress(mission_id, idx, state, coverage, t_s) VALUES (?, ?, ?, ?, ?)",
                            (mission_id, index, state, coverage, now))
        return True

    def _mission(self, row: Iterable[Any]) -> MissionRow:
        r = list(row)
        return MissionRow(r[0], r[1], r[2], r[3], r[4], MissionPhase(r[5]), r[6], r[7], r[8], r[9])

    _MISSION_COLS = "id, job_id, plan_id, vehicle, queue_pos, phase, acked_index, coverage, done_m, reason"

    def mission(self, mission_id: int) -> MissionRow | None:
        row = self.db.execute(f"SELECT {self._MISSION_COLS} FROM missions WHERE id = ?", (mission_id,)).fetchone()
        return self._mission(row) if row else None

    def missions(self, job_id: int | None = None, vehicle: str | None = None,
                 open_only: bool = False) -> list[MissionRow]:
        sql, args = f"SELECT {self._MISSION_COLS} FROM missions WHERE 1", []
        if job_id is not None:
            sql += " AND job_id = ?"
            args.append(job_id)
        if vehicle is not None:
            sql += " AND vehicle = ?"
            args.append(vehicle)
        if open_only:
            sql += " AND phase NOT IN (%s)" % ",".join(str(int(p)) for p in MissionPhase if p.is_final)
        sql += " ORDER BY queue_pos, id"
        return [self._mission(r) for r in self.db.execute(sql, args)]

    def next_queue_pos(self, vehicle: str) -> int:
        row = self.db.execute("SELECT COALESCE(MAX(queue_pos), -1) + 1 FROM missions WHERE vehicle = ?",
                              (vehicle,)).fetchone()
        return int(row[0])

    def _job(self, r: Sequence[Any]) -> JobRow:
        return JobRow(r[0], r[1], r[2], tuple(json.loads(r[3])), bytes(r[4]) if r[4] is not None else None,
                      json.loads(r[5]), r[6], r[7], r[8])

    def job(self, job_id: int) -> JobRow | None:
        row = self.db.execute("SELECT id, name, implement, vehicles, field, params, state, created_s, updated_s "
                              "FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return self._job(row) if row else None

    def jobs(self, open_only: bool = False) -> list[JobRow]:
        sql = "SELECT id, name, implement, vehicles, field, params, state, created_s, updated_s FROM jobs"
        if open_only:
            sql += " WHERE state NOT IN ('complete', 'aborted', 'failed')"
        return [self._job(r) for r in self.db.execute(sql + " ORDER BY id")]

    def assignments(self, mission_id: int) -> list[tuple[str, float, float | None, str]]:
        return [tuple(r) for r in self.db.execute(
            "SELECT vehicle, assigned_s, released_s, reason FROM assignments WHERE mission_id = ? ORDER BY id",
            (mission_id,))]

    def progress(self, mission_id: int) -> list[tuple[int, int, float]]:
        return [tuple(r) for r in self.db.execute(
            "SELECT idx, state, coverage FROM progress WHERE mission_id = ? ORDER BY rowid", (mission_id,))]

    # --- vehicles, events, telemetry -------------------------------------------------------------------
    def upsert_vehicle(self, vehicle: str, kind: str, driver: str, kinds: Sequence[str],
                       features: Sequence[str], spec: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO vehicles(id, kind, driver, kinds, features, spec, last_seen_s) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, driver = excluded.driver, kinds = excluded.kinds, "
            "features = excluded.features, spec = excluded.spec, last_seen_s = excluded.last_seen_s",
            (vehicle, kind, driver, json.dumps(list(kinds)), json.dumps(list(features)), json.dumps(spec),
             self.wall()))

    def vehicles(self) -> list[dict[str, Any]]:
        out = []
        for r in self.db.execute("SELECT id, kind, driver, kinds, features, spec, last_seen_s FROM vehicles "
                                 "ORDER BY id"):
            out.append({"id": r[0], "kind": r[1], "driver": r[2], "kinds": json.loads(r[3]),
                        "features": json.loads(r[4]), "spec": json.loads(r[5]), "last_seen_s": r[6]})
        return out

    def add_event(self, vehicle: str, mission_id: int | None, code: int, severity: int, text: str) -> int:
        cur = self.db.execute("INSERT INTO events(t_s, vehicle, mission_id, code, severity, text) "
                              "VALUES (?, ?, ?, ?, ?, ?)", (self.wall(), vehicle, mission_id, code, severity, text))
        return int(cur.lastrowid)

    def events(self, mission_id: int | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        sql = "SELECT id, t_s, vehicle, mission_id, code, severity, text FROM events"
        args: list[Any] = []
        if mission_id is not None:
            sql += " WHERE mission_id = ?"
            args.append(mission_id)
        rows = self.db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        keys = ("id", "t_s", "vehicle", "mission", "code", "severity", "text")
        return [dict(zip(keys, r)) for r in reversed(rows)]

    def add_telemetry(self, vehicle: str, values: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO telemetry(vehicle, t_s, x, y, z, heading_rad, speed_mps, battery_pct, tank_l, mode, gnss, "
            "state, mission_id, idx) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (vehicle, self.wall(), *(values.get(k) for k in ("x", "y", "z", "heading_rad", "speed_mps",
                                                            "battery_pct", "tank_l", "mode", "gnss", "state",
                                                            "mission", "index"))))

    def telemetry_count(self, vehicle: str | None = None) -> int:
        if vehicle is None:
            return int(self.db.execute("SELECT COUNT(*) FROM telemetry").fetchone()[0])
        return int(self.db.execute("SELECT COUNT(*) FROM telemetry WHERE vehicle = ?", (vehicle,)).fetchone()[0])


class _Transaction:
    """``with store.transaction():`` — BEGIN IMMEDIATE ... COMMIT, nested uses join the outer one."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.outer = False

    def __enter__(self) -> _Transaction:
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            self.outer = True
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not self.outer:
            return
        if exc_type is None:
            self.db.execute("COMMIT")
        else:
            self.db.execute("ROLLBACK")
