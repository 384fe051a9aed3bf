"""The SQLite store: schema versions and migrations, monotonic progress, nothing lost on reopen."""
from __future__ import annotations

import sqlite3

import pytest
from agrifleet.core.errors import ConfigError
from agrifleet.core.messages import MissionPhase
from agrifleet.core.store import MIGRATIONS, SCHEMA_VERSION, JobState, Store

from .fleet_doubles import lawnmower


class Wall:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


def test_new_database_is_wal_and_current(tmp_path):
    store = Store(tmp_path / "a.db")
    assert store.version == SCHEMA_VERSION
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_version_1_file_is_migrated_in_place(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[1]:
        db.execute(statement)
    db.execute("INSERT INTO jobs(name, implement, vehicles, params, state, created_s, updated_s) "
               "VALUES ('old', '', '[\"a\"]', '{}', 'active', 1, 1)")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    store = Store(path)
    assert store.version == 2
    indexes = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"telemetry_by_vehicle", "events_by_mission"} <= indexes
    assert store.job(1).name == "old" and store.job(1).vehicles == ("a",)
    store.close()


def test_newer_or_foreign_files_are_refused(tmp_path):
    path = tmp_path / "new.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ConfigError, match="newer than this agrifleet"):
        Store(path)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(ConfigError, match="junk.db: not a usable agrifleet database"):
        Store(junk)


def test_jobs_plans_missions_progress_survive_reopen(tmp_path):
    path = tmp_path / "f.db"
    store = Store(path, wall=Wall())
    plan = lawnmower(0, 0, 6.0, 3, 30.0)
    job = store.add_job("j", "sprayer", ["a"], None, {"requires": ["spray"]})
    pid = store.add_plan(job, plan)
    mid = store.add_mission(job, pid, "a", store.next_queue_pos("a"))
    assert store.record_progress(mid, 10, 1, 0.1, 10.0)
    assert not store.record_progress(mid, 10, 1, 0.1, 10.0)       # not newer
    assert not store.record_progress(mid, 4, 1, 0.05, 4.0)        # older
    assert store.record_progress(mid, 25, 1, 0.2, 24.0)
    store.set_phase(mid, MissionPhase.REASSIGNED, "lost")
    store.set_job_state(job, JobState.PAUSED)
    store.close()                                                 # (a SIGKILL test runs in test_dispatcher)

    again = Store(path)
    m = again.mission(mid)
    assert (m.acked_index, m.phase, m.reason, m.done_m) == (25, MissionPhase.REASSIGNED, "lost", 24.0)
    assert [p[0] for p in again.progress(mid)] == [10, 25]
    (vehicle, assigned, released, reason), = again.assignments(mid)
    assert vehicle == "a" and released is not None and released > assigned and reason == "lost"
    assert again.job(job).state == JobState.PAUSED and again.job(job).params == {"requires": ["spray"]}
    back = again.plan(pid)
    assert len(back) == len(plan) and (back.path == plan.path).all()
    assert again.job_working_m(job) == pytest.approx(plan.metrics.working_length_m)
    assert again.missions(vehicle="a", open_only=True) == []
    assert again.next_queue_pos("a") == 1
    again.close()


def test_vehicles_events_and_telemetry(tmp_path):
    store = Store(tmp_path / "v.db")
    store.upsert_vehicle("a", "tractor", "sim", ["tractor"], ["spray"], {"name": "a", "kind": "tractor"})
    store.upsert_vehicle("a", "tractor", "mavlink", ["tractor"], ["spray"], {})
    (v,) = store.vehicles()
    assert v["driver"] == "mavlink" and v["features"] == ["spray"]
    store.add_event("a", None, 3, 1, "battery 15 %")
    assert store.events()[0]["text"] == "battery 15 %"
    store.add_telemetry("a", {"x": 1.0, "y": 2.0, "mission": 0, "index": -1})
    assert store.telemetry_count("a") == 1 and store.telemetry_count() == 1
    store.close()
