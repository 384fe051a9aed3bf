"""Fleet logic without sockets: assignment, reconciliation, pause/resume, loss and re-planning."""
from __future__ import annotations

import pytest
from agrifleet.core.errors import ConfigError
from agrifleet.core.fleet import AgentState, FleetManager
from agrifleet.core.messages import CommandCode, EventCode, MissionPhase, Severity
from agrifleet.core.replan import working_cumulative
from agrifleet.core.store import JobState, Store

from .fleet_doubles import field_plans


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class FakeLink:
    def __init__(self) -> None:
        self.sent: list[tuple] = []
        self.last_ref: dict[str, int] = {}
        self.next_id = 1

    def send_plan(self, vehicle, mission, job, plan_bytes, start_index):
        self.sent.append(("plan", vehicle, mission, start_index))

    def send_command(self, vehicle, mission, command):
        self.sent.append(("cmd", vehicle, mission, CommandCode(command).name))
        self.next_id += 1
        self.last_ref[vehicle] = self.next_id
        return self.next_id

    def forget(self, vehicle):
        self.sent.append(("forget", vehicle))

    def take(self, vehicle: str | None = None) -> list[tuple]:
        out = [s for s in self.sent if vehicle is None or s[1] == vehicle]
        self.sent = [s for s in self.sent if s not in out]
        return out




# --- the manager -------------------------------------------------------------------------------------

@pytest.fixture()
def fleet(tmp_path):
    store = Store(tmp_path / "fleet.db")
    link, clock = FakeLink(), Clock()
    manager = FleetManager(store, link, clock, replan_after_s=5.0, planner=lambda: None)
    yield manager, link, clock
    store.close()


def register(manager, vehicle, mission=0, index=-1, state=AgentState.IDLE, new_session=True, features=("spray",)):
    manager.on_hello(vehicle, "tractor", "test", ["tractor"], list(features),
                     {"name": vehicle, "kind": "tractor", "min_turn_radius_m": 3.0}, mission, index, state, new_session)


def run_to_active(manager, link, vehicle):
    """Acknowledge the plan and the start command the manager sends to ``vehicle``."""
    plan = next(s for s in link.take(vehicle) if s[0] == "plan")
    manager.on_plan_ack(vehicle, plan[2], True, True, "")
    assert ("cmd", vehicle, plan[2], "START") in link.take(vehicle)
    manager.on_command_ack(vehicle, link.last_ref[vehicle], CommandCode.START, True, "ok")
    return plan[2]


def test_plan_start_progress_complete(fleet):
    manager, link, _ = fleet
    register(manager, "a")
    plans, _ = field_plans(["a"])
    job = manager.submit_plans("j", plans)
    mission = run_to_active(manager, link, "a")
    assert manager.store.mission(mission).phase == MissionPhase.ACTIVE
    n = len(plans["a"])
    manager.on_progress("a", mission, 100, AgentState.ACTIVE, 0.3)
    status = manager.job_status(job)
    assert status["missions"][0]["acked_index"] == 100 and 0 < status["coverage"] < 1
    manager.on_progress("a", mission, n - 1, AgentState.COMPLETE, 1.0)
    status = manager.job_status(job)
    assert status["state"] == "complete" and status["coverage"] == pytest.approx(1.0)
    assert link.take() == []


def test_pause_resume_job_and_vehicle(fleet):
    manager, link, _ = fleet
    register(manager, "a")
    job = manager.submit_plans("j", field_plans(["a"])[0])
    mission = run_to_active(manager, link, "a")
    manager.set_job(JobState.PAUSED, job)
    assert link.take() == [("cmd", "a", mission, "PAUSE")]
    manager.on_command_ack("a", link.last_ref["a"], CommandCode.PAUSE, True, "ok")
    assert manager.store.mission(mission).phase == MissionPhase.PAUSED
    manager.set_job(JobState.ACTIVE, job)
    assert link.take() == [("cmd", "a", mission, "RESUME")]
    manager.on_command_ack("a", link.last_ref["a"], CommandCode.RESUME, True, "ok")
    manager.hold("a", True)
    assert link.take() == [("cmd", "a", mission, "PAUSE")]
    manager.on_command_ack("a", link.last_ref["a"], CommandCode.PAUSE, True, "ok")
    manager.hold("a", False)
    assert link.take() == [("cmd", "a", mission, "RESUME")]
    with pytest.raises(ConfigError, match="no vehicle 'zz'"):
        manager.hold("zz", True)


def test_lost_vehicle_work_is_replanned_onto_capable_vehicles(fleet):
    manager, link, clock = fleet
    for v in ("a", "b"):
        register(manager, v)
    register(manager, "c", features=())                      # cannot spray
    plans, _ = field_plans(["a", "b", "c"])
    job = manager.submit_plans("j", plans)
    manager.store.db.execute("UPDATE jobs SET params = ? WHERE id = ?", ('{"requires": ["spray"]}', job))
    link.take()
    missions = {v: m.id for v in "abc" for m in manager.store.missions(vehicle=v)}
    for v in "abc":
        manager.on_plan_ack(v, missions[v], True, True, "")
        manager.on_command_ack(v, link.last_ref[v], CommandCode.START, True, "ok")
    link.take()
    manager.on_progress("a", missions["a"], 100, AgentState.ACTIVE, 0.3)
    manager.on_lost("a")
    clock.t += 4.0
    manager.tick()
    assert manager.store.mission(missions["a"]).phase == MissionPhase.ACTIVE    # not yet
    clock.t += 1.5
    manager.tick()
    assert manager.store.mission(missions["a"]).phase == MissionPhase.REASSIGNED
    new = manager.store.missions(vehicle="b", open_only=True)[1:]
    assert len(new) == 1 and not manager.store.missions(vehicle="c", open_only=True)[1:]
    piece = manager.store.plan(new[0].plan_id)
    a_plan = plans["a"]
    src_a, src_b = piece.meta["source_range"]
    assert src_a >= 100 and piece.meta["source_mission"] == missions["a"]
    # the piece ends the working of a's plan exactly; it starts with a transit from b's plan end
    cum = working_cumulative(a_plan)
    assert piece.metrics.working_length_m == pytest.approx(cum[-1] - cum[100])
    assert piece.path["x"][0] == plans["b"].path["x"][-1]
    status = manager.job_status(job)
    assert status["coverage"] == pytest.approx(cum[100] / (3 * cum[-1]))
    # b finishes its own mission, then receives the piece
    manager.on_progress("b", missions["b"], len(plans["b"]) - 1, AgentState.COMPLETE, 1.0)
    assert ("plan", "b", new[0].id, 0) in link.take()
    manager.on_progress("c", missions["c"], len(plans["c"]) - 1, AgentState.COMPLETE, 1.0)
    manager.on_plan_ack("b", new[0].id, True, True, "")
    manager.on_command_ack("b", link.last_ref["b"], CommandCode.START, True, "ok")
    manager.on_progress("b", new[0].id, len(piece) - 1, AgentState.COMPLETE, 1.0)
    status = manager.job_status(job)
    assert status["state"] == "complete" and status["coverage"] == pytest.approx(1.0)
    # a comes back still driving its old mission: it is told to abort it
    link.take()
    register(manager, "a", mission=missions["a"], index=120, state=AgentState.ACTIVE, new_session=False)
    assert link.take() == [("cmd", "a", missions["a"], "ABORT")]
    assert manager.store.mission(missions["a"]).acked_index == 100      # its late progress is not counted


def test_fault_event_fails_the_mission_and_replans(fleet):
    manager, link, _ = fleet
    for v in ("a", "b"):
        register(manager, v)
    manager.submit_plans("j", field_plans(["a", "b"])[0])
    ma = run_to_active(manager, link, "a")
    run_to_active(manager, link, "b")
    manager.on_progress("a", ma, 50, AgentState.ACTIVE, 0.1)
    manager.on_event("a", ma, EventCode.FAULT, Severity.CRITICAL, "hydraulics")
    assert manager.store.mission(ma).phase == MissionPhase.FAILED
    assert "hydraulics" in manager.store.mission(ma).reason
    assert len(manager.store.missions(vehicle="b", open_only=True)) == 2
    assert ("cmd", "a", ma, "ABORT") in link.take()            # a still drives it: stop it


def test_agent_restart_gets_its_plan_from_the_acknowledged_index(fleet):
    manager, link, _ = fleet
    register(manager, "a")
    manager.submit_plans("j", field_plans(["a"])[0])
    mission = run_to_active(manager, link, "a")
    manager.on_progress("a", mission, 77, AgentState.ACTIVE, 0.2)
    register(manager, "a", new_session=True)                   # restarted: holds nothing
    assert link.take() == [("plan", "a", mission, 77)]
    manager.on_plan_ack("a", mission, True, True, "")
    assert link.take() == [("cmd", "a", mission, "START")]


def test_dispatcher_restart_adopts_what_the_agent_drives(fleet, tmp_path):
    manager, link, clock = fleet
    register(manager, "a")
    manager.submit_plans("j", field_plans(["a"])[0])
    mission = run_to_active(manager, link, "a")
    manager.on_progress("a", mission, 40, AgentState.ACTIVE, 0.1)
    fresh = FleetManager(manager.store, link, clock, planner=lambda: None)
    assert fresh.vehicles["a"].online is False
    register(fresh, "a", mission=mission, index=60, state=AgentState.ACTIVE, new_session=False)
    assert link.take() == []                                    # nothing to resend, it is driving
    assert fresh.store.mission(mission).acked_index == 60


def test_a_mission_whose_last_sample_was_acknowledged_is_complete(fleet):
    manager, link, _ = fleet
    register(manager, "a")
    plans = field_plans(["a"])[0]
    job = manager.submit_plans("j", plans)
    mission = run_to_active(manager, link, "a")
    manager.on_progress("a", mission, len(plans["a"]) - 1, AgentState.ACTIVE, 1.0)   # "complete" never came
    register(manager, "a", new_session=True)                                           # agent restarted
    assert link.take() == []
    assert manager.job_status(job)["state"] == "complete"


def test_a_job_whose_work_cannot_be_taken_over_fails(fleet):
    manager, link, _ = fleet
    register(manager, "a")
    job = manager.submit_plans("j", field_plans(["a"])[0])
    mission = run_to_active(manager, link, "a")
    manager.on_progress("a", mission, 60, AgentState.ACTIVE, 0.2)
    manager.on_event("a", mission, EventCode.FAULT, Severity.CRITICAL, "engine")
    status = manager.job_status(job)
    assert status["state"] == "failed" and 0 < status["coverage"] < 1
    assert "no capable vehicle left" in status["missions"][0]["reason"]


def test_refused_plan_and_failed_start(fleet):
    manager, link, _ = fleet
    for v in ("a", "b"):
        register(manager, v)
    manager.submit_plans("j", field_plans(["a", "b"])[0])
    sent = link.take()
    ma = next(s[2] for s in sent if s[1] == "a")
    mb = next(s[2] for s in sent if s[1] == "b")
    manager.on_plan_ack("a", ma, True, False, "too many mission items")
    assert manager.store.mission(ma).phase == MissionPhase.FAILED
    manager.on_plan_ack("b", mb, True, True, "")
    link.take()
    manager.on_command_ack("b", link.last_ref["b"], CommandCode.START, False, "start() -> DENIED")
    assert manager.store.mission(mb).phase == MissionPhase.FAILED
    events = [e["text"] for e in manager.store.events()]
    assert any("too many mission items" in t for t in events) and any("DENIED" in t for t in events)


def test_abort_job_and_estop(fleet):
    manager, link, _ = fleet
    register(manager, "a")
    job = manager.submit_plans("j", field_plans(["a"])[0])
    mission = run_to_active(manager, link, "a")
    manager.set_job(JobState.ABORTED, job)
    assert link.take() == [("cmd", "a", mission, "ABORT")]
    assert manager.job_status(job)["state"] == "aborted"
    with pytest.raises(ConfigError, match="is aborted"):
        manager.set_job(JobState.ACTIVE, job)
    job2 = manager.submit_plans("k", field_plans(["a"])[0])
    manager.on_command_ack("a", link.last_ref["a"], CommandCode.ABORT, True, "ok")
    m2 = run_to_active(manager, link, "a")
    manager.abort_vehicle("a", estop=True)
    assert link.take() == [("cmd", "a", m2, "ESTOP")]
    assert manager.store.mission(m2).phase == MissionPhase.ABORTED
    assert manager.job_status(job2)["state"] == "aborted"       # nothing open is left, work was not done


def _field_doc():
    import shapely
    from shapely.geometry import box
    return {"name": "north", "boundary_wkb": shapely.to_wkb(box(0.0, 0.0, 84.0, 60.0)), "frame": None}


def _two_tractors(manager):
    from agrifleet.core.messages import Telemetry
    for k, v in enumerate(("a", "b")):
        manager.on_hello(v, "tractor", "sim", ["tractor"], ["spray"], {}, 0, -1, 0, True)
        manager.on_telemetry(v, Telemetry(t_s=0.0, x=10.0 + 20 * k, y=-5.0, heading_rad=1.5707963))


def test_a_field_is_planned_by_the_job_planner_from_where_the_vehicles_are(tmp_path):
    store = Store(tmp_path / "f.db")
    try:
        manager = FleetManager(store, FakeLink())
        _two_tractors(manager)
        plans, implement, blob, params = manager.plan_field(
            _field_doc(), "sprayer:boom_width_m=6,n_sections=2", ["a", "b"], {"turn_radius_m": 4.5, "headland_passes": 1})
        assert set(plans) == {"a", "b"} and blob == _field_doc()["boundary_wkb"]
        assert params["requires"] == ["ground", "spray"]
        for k, v in enumerate(("a", "b")):
            assert (plans[v].path["x"][0], plans[v].path["y"][0]) == (10.0 + 20 * k, -5.0)
        working = sum(p.metrics.working_length_m + p.metrics.headland_length_m for p in plans.values())
        assert working > 84 * 60 / 6 * 0.9                       # the field's area over the boom width
    finally:
        store.close()


def test_without_a_job_planner_the_coverage_plan_is_shared_out(tmp_path):
    from agrifleet.planners.coverage import CoveragePlanner
    store = Store(tmp_path / "f.db")
    try:
        manager = FleetManager(store, FakeLink(), planner=CoveragePlanner)
        _two_tractors(manager)
        assert manager.job_planner() is None
        plans, *_ = manager.plan_field(_field_doc(), "sprayer:boom_width_m=6,n_sections=2", ["a", "b"],
                                       {"turn_radius_m": 4.5, "headland_passes": 1, "angle_deg": 90.0})
        a, b = plans["a"], plans["b"]
        assert a.meta["source_range"][1] <= b.meta["source_range"][0]          # consecutive pieces
        assert a.meta["transit_samples"] > 0 and (a.path["x"][0], a.path["y"][0]) == (10.0, -5.0)
        with pytest.raises(ConfigError, match="turn_radius_m is not given"):
            manager.plan_field(_field_doc(), "", ["a"], {"width_m": 6.0})
    finally:
        store.close()
