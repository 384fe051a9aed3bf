"""The dispatcher end to end, with real agents on loopback TCP: jobs, pause/resume, lost vehicles,
agent restarts, and a dispatcher killed with SIGKILL."""
from __future__ import annotations

import signal
import time

import numpy as np
import pytest
from agrifleet.core.bus import Subscriber, request
from agrifleet.core.errors import ConfigError, ConnectionLost
from agrifleet.core.messages import FleetState, MissionPhase, Progress
from agrifleet.core.plan_io import plans_to_msgpack
from agrifleet.core.store import Store
from agrifleet.drivers.base import MissionState

from .fleet_doubles import (
    FleetRig,
    covered_area,
    field_plans,
    free_port,
    ping,
    planned_area,
    serve_process,
    status_or_none,
    wait_for,
)


def submit(rig: FleetRig, plans: dict, name: str = "job") -> int:
    return rig.call("submit", name=name, vehicles=list(plans), plans=plans_to_msgpack(list(plans.values())))["job"]


def coverage_ratio(rig: FleetRig, plans: dict) -> float:
    segments = [s for drivers in rig.drivers.values() for d in drivers for s in d.driven_xy()]
    target = planned_area(list(plans.values()))
    return covered_area(segments, next(iter(plans.values())).width_m).intersection(target).area / target.area


def test_job_completes_and_state_is_published(tmp_path):
    with FleetRig(str(tmp_path / "f.db"), ["a", "b"]) as rig:
        sub = Subscriber(rig.dispatcher.pub_endpoint, topics=("state", "progress"))
        try:
            plans, _ = field_plans(["a", "b"])
            job = submit(rig, plans)
            status = rig.wait_job(job)
            seen = []
            while (got := sub.receive(0.5)) is not None and len(seen) < 50:
                seen.append(got)
        finally:
            sub.close()
        assert status["coverage"] == pytest.approx(1.0)
        assert [m["phase"] for m in status["missions"]] == ["complete", "complete"]
        for v in ("a", "b"):
            (driver,) = rig.drivers[v]
            (stretches,) = driver.driven
            assert stretches == list(range(len(plans[v]) - 1))       # every stretch once, in order
        assert coverage_ratio(rig, plans) > 0.999
        assert any(isinstance(m, FleetState) and {v["id"] for v in m.vehicles} == {"a", "b"} for _, m in seen)
        assert any(topic == "progress" and isinstance(m, Progress) for topic, m in seen)
        stats = rig.call("stats")
        assert stats["bus"]["bad_frames"] == 0 and stats["handler_errors"] == 0


@pytest.mark.slow
def test_pause_and_resume_fleet_wide_and_per_vehicle(tmp_path):
    with FleetRig(str(tmp_path / "f.db"), ["a", "b"], time_scale=20.0) as rig:
        plans, _ = field_plans(["a", "b"])
        job = submit(rig, plans)
        da, db = rig.drivers["a"][0], rig.drivers["b"][0]
        wait_for(lambda: da.idx > 20 and db.idx > 20, what="both moving")
        assert rig.call("pause") == {"jobs": [job]}
        wait_for(lambda: da.state == db.state == MissionState.PAUSED, what="paused")
        wait_for(lambda: all(m["phase"] == "paused" for m in rig.call("status", job=job)["missions"]))
        held = (da.idx, db.idx)
        time.sleep(0.3)
        assert (da.idx, db.idx) == held
        rig.call("resume", job=job)
        rig.call("pause", vehicle="b")      # b may take a step between the job's resume and its own pause
        wait_for(lambda: db.state == MissionState.PAUSED and db.calls.count("pause") == 2, what="b paused")
        held_b = db.idx
        wait_for(lambda: da.idx > held[0] + 5, what="a moving again")
        assert db.state == MissionState.PAUSED and db.idx == held_b
        rig.call("resume", vehicle="b")
        status = rig.wait_job(job)
        assert status["coverage"] == pytest.approx(1.0)
        assert da.calls.count("pause") == 1 and db.calls.count("pause") == 2


def test_operator_requests_over_the_wire(tmp_path):
    with FleetRig(str(tmp_path / "f.db"), ["a"]) as rig:
        url = rig.dispatcher.endpoint
        plans, _ = field_plans(["a"])
        assert request(url, "list") == []
        job = request(url, "submit", {"name": "w", "vehicles": ["a"], "plans": plans_to_msgpack([plans["a"]])})["job"]
        assert request(url, "list")[0]["id"] == job
        assert request(url, "status", {"job": job})["missions"][0]["vehicle"] == "a"
        with pytest.raises(ConfigError, match="no job 99"):
            request(url, "status", {"job": 99})
        with pytest.raises(ConfigError, match="unknown operation 'fly'"):
            request(url, "fly")
        with pytest.raises(ConfigError, match="status: bad arguments"):
            request(url, "status", {})
        with pytest.raises(ConfigError, match="1 plan\\(s\\) for 2 vehicle\\(s\\)"):
            request(url, "submit", {"vehicles": ["a", "b"], "plans": plans_to_msgpack([plans["a"]])})
        rig.wait_job(job)
        assert {v["id"]: v["connected"] for v in request(url, "vehicles")} == {"a": True}
    with pytest.raises(ConnectionLost, match="no answer from the dispatcher"):
        request(url, "list", timeout_s=0.3)


def test_requests_that_wait_for_the_vehicles_confirmation(tmp_path):
    with FleetRig(str(tmp_path / "f.db"), ["a"], time_scale=10.0) as rig:
        url = rig.dispatcher.endpoint
        plans, _ = field_plans(["a"])
        job = submit(rig, plans)
        driver = rig.drivers["a"][0]
        wait_for(lambda: driver.state == MissionState.ACTIVE and driver.idx > 5, what="a moving")
        assert request(url, "pause", {"vehicle": "a", "wait": True}) == {"vehicle": "a"}
        assert driver.state == MissionState.PAUSED                 # answered after the vehicle confirmed
        assert request(url, "pause", {"vehicle": "a", "wait": True}) == {"vehicle": "a"}   # nothing to send
        driver.reject = {"resume"}
        with pytest.raises(ConfigError, match=r"a: resume\(\) -> DENIED"):
            request(url, "resume", {"vehicle": "a", "wait": True})
        # a vehicle that cannot resume cannot do the work: the mission fails, and the vehicle is stopped
        status = wait_for(lambda: (s := rig.call("status", job=job))["state"] != "active" and s)
        assert status["missions"][0]["phase"] == "failed" and "DENIED" in status["missions"][0]["reason"]
        wait_for(lambda: driver.state == MissionState.ABORTED, what="a stopped")


@pytest.mark.slow
def test_lost_vehicle_work_is_replanned_and_the_field_is_covered(tmp_path):
    with FleetRig(str(tmp_path / "f.db"), ["a", "b", "c"], time_scale=30.0, replan_after_s=0.8) as rig:
        plans, _ = field_plans(["a", "b", "c"])
        job = submit(rig, plans)
        da = rig.drivers["a"][0]
        wait_for(lambda: da.idx > 60, what="a under way")
        rig.kill_agent("a")
        status = rig.wait_job(job, timeout_s=40)
        phases = {m["id"]: (m["vehicle"], m["phase"]) for m in status["missions"]}
        assert phases[1] == ("a", "reassigned")
        assert {v for v, p in phases.values() if p == "complete"} == {"b", "c"}
        assert len(phases) >= 4                                  # a's rest went out in pieces
        assert status["coverage"] >= 0.99
        assert coverage_ratio(rig, plans) >= 0.99
        store = Store(rig.db)
        try:
            events = [e["text"] for e in store.events()]
        finally:
            store.close()
        assert any("vehicle a lost" in t and "re-planned" in t for t in events)


@pytest.mark.slow
def test_agent_restart_resumes_at_the_acknowledged_index_without_driving_a_swath_twice(tmp_path):
    with FleetRig(str(tmp_path / "f.db"), ["a"], time_scale=25.0) as rig:
        plans, _ = field_plans(["a"], swaths_each=6)
        job = submit(rig, plans)
        first = rig.drivers["a"][0]
        wait_for(lambda: first.idx > 150, what="a under way")
        rig.kill_agent("a")
        reached = first.idx
        rig.start_agent("a")
        second = wait_for(lambda: len(rig.drivers["a"]) == 2 and rig.drivers["a"][1].uploads and rig.drivers["a"][1],
                          what="plan re-sent")
        status = rig.wait_job(job)
    (_, start), = second.uploads
    acked = [p[0] for p in Store(rig.db).progress(1)]
    assert start in acked and start <= reached and reached - start < 40
    path = plans["a"].path
    once, twice = set(first.driven[0]), set(second.driven[0])
    assert once | twice == set(range(len(path) - 1))             # everything driven
    assert once & twice <= set(range(start, reached))            # overlap only since the last ack
    swath = path["swath"][:-1]
    done_by_first = {s for s in np.unique(swath[list(once)]) if s >= 0
                     and set(np.flatnonzero(swath == s)) <= once}
    assert done_by_first and not done_by_first & set(swath[list(twice)])
    assert status["coverage"] == pytest.approx(1.0)




@pytest.mark.slow
def test_sigkill_dispatcher_mid_mission_loses_nothing_and_the_job_completes(tmp_path):
    db, port = str(tmp_path / "fleet.db"), free_port()
    url = f"tcp://127.0.0.1:{port}"
    proc = serve_process(db, port)
    rig = FleetRig(db, ["a", "b"], time_scale=12.0)
    try:
        wait_for(lambda: ping(url), 30, what="dispatcher up")
        for v in ("a", "b"):
            rig.start_agent(v, url)
        wait_for(lambda: len(request(url, "vehicles")) == 2, 10, what="agents registered")
        plans, _ = field_plans(["a", "b"])
        job = request(url, "submit", {"name": "k", "vehicles": ["a", "b"],
                                      "plans": plans_to_msgpack(list(plans.values()))})["job"]
        wait_for(lambda: min(d[0].idx for d in rig.drivers.values()) > 40, what="under way")
        before = request(url, "status", {"job": job})
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        store = Store(db)
        try:
            after = [store.mission(m["id"]) for m in before["missions"]]
            assignments = [store.assignments(m["id"]) for m in before["missions"]]
            progress = [store.progress(m["id"]) for m in before["missions"]]
        finally:
            store.close()
        for m_before, m_after, assigned, prog in zip(before["missions"], after, assignments, progress):
            assert m_after is not None and m_after.vehicle == m_before["vehicle"]
            assert m_after.acked_index >= m_before["acked_index"] > 0
            assert m_after.phase == MissionPhase.ACTIVE
            assert [a[0] for a in assigned] == [m_before["vehicle"]] and assigned[0][2] is None
            assert prog[-1][0] == m_after.acked_index and [p[0] for p in prog] == sorted(p[0] for p in prog)
        moving_during_outage = {v: d[0].idx for v, d in rig.drivers.items()}
        proc = serve_process(db, port)
        status = wait_for(lambda: (s := status_or_none(url, job)) and s["state"] == "complete" and s, 60,
                          what="job complete after restart")
        assert status["coverage"] == pytest.approx(1.0)
        for v, drivers in rig.drivers.items():
            (driver,) = drivers                                   # the agents never restarted
            assert len(driver.uploads) == 1                       # and the plan was not sent again
            assert driver.driven[0] == list(range(len(plans[v]) - 1))
            assert driver.idx >= moving_during_outage[v]
    finally:
        for agent in rig.agents.values():
            agent.stop()
        proc.kill()
        proc.wait(10)


