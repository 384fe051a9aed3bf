"""Fleet logic without sockets: assignment, reconciliation, pause/resume, loss and re-planning."""
from __future__ import annotations

import math

import numpy as np
import pytest
from agrifleet.core.errors import ConfigError
from agrifleet.core.fleet import (
    AgentState,
    FleetManager,
    build_piece,
    split_remaining,
    transit_path,
    working_cumulative,
)
from agrifleet.core.messages import CommandCode, EventCode, MissionPhase, Severity
from agrifleet.core.plan import PATH_DTYPE, SegmentKind, make_path
from agrifleet.core.store import JobState, Store
from shapely.geometry import LineString, Point, Polygon

from .fleet_doubles import field_plans, lawnmower


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


def working_stretches(plan, a=0, b=None):
    k = plan.path["kind"][:-1]
    idx = np.flatnonzero(np.isin(k, [SegmentKind.SWATH, SegmentKind.HEADLAND]))
    return {int(i) for i in idx if i >= a and (b is None or i < b - 1)}


# --- re-planning geometry ----------------------------------------------------------------------------

def test_split_remaining_cuts_at_pass_starts_and_balances_work():
    plan = lawnmower(0, 0, 6.0, 6, 60.0)
    ranges = split_remaining(plan, 0, 2)
    assert len(ranges) == 2
    swath = plan.path["swath"]
    (a0, b0), (a1, b1) = ranges
    assert a0 == 0 and swath[a1] == 3 and plan.path["kind"][a1 - 1] == SegmentKind.TURN
    cum = working_cumulative(plan)
    assert cum[b0 - 1] - cum[a0] == pytest.approx(cum[b1 - 1] - cum[a1])
    covered = set().union(*(working_stretches(plan, a, b) for a, b in ranges))
    assert covered == working_stretches(plan)
    # the turn between the two pieces is not part of either
    assert plan.path["kind"][b0 - 1] != SegmentKind.SWATH or b0 <= a1


def test_split_remaining_from_inside_a_pass_and_from_a_turn():
    plan = lawnmower(0, 0, 6.0, 4, 60.0)
    mid_swath = 30                                    # in the first pass
    ranges = split_remaining(plan, mid_swath, 3)
    assert ranges[0][0] == mid_swath
    assert set().union(*(working_stretches(plan, a, b) for a, b in ranges)) == working_stretches(plan, mid_swath)
    in_turn = int(np.flatnonzero(plan.path["kind"] == SegmentKind.TURN)[3])
    (first, _), *_ = split_remaining(plan, in_turn, 2)
    assert plan.path["kind"][first] == SegmentKind.SWATH and first > in_turn
    assert split_remaining(plan, len(plan) - 1, 2) == []


def test_transit_goes_around_an_obstacle_inside_the_boundary():
    field = Polygon([(0, 0), (100, 0), (100, 60), (0, 60)], [[(40, 10), (60, 10), (60, 50), (40, 50)]])
    plan = lawnmower(0, 0, 6.0, 2, 30.0, boundary=field)
    start, goal = np.zeros(1, dtype=PATH_DTYPE)[0], np.zeros(1, dtype=PATH_DTYPE)[0]
    start["x"], start["y"], goal["x"], goal["y"] = 20.0, 30.0, 80.0, 30.0
    path = transit_path(plan, start, goal, speed_mps=3.0)
    xy = np.column_stack([path["x"], path["y"]])
    route = LineString(np.vstack([xy, [[80.0, 30.0]]]))
    assert field.buffer(1e-6).covers(route)
    assert route.length > 60.0 and route.length < 60.0 + 2 * 21.0
    assert (path["kind"] == SegmentKind.TRANSIT).all() and (path["sections"] == 0).all()
    assert np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1])).max() <= 1.0 + 1e-9
    assert (path["speed"] == 3.0).all()


def test_transit_prefers_the_planner_plugin():
    class Planner:
        calls = []

        def transit(self, boundary, start, goal, turn_radius_m, speed_mps):
            self.calls.append((start, goal, turn_radius_m, speed_mps))
            return make_path(np.array([start[:2], goal[:2]]), kind=SegmentKind.TRANSIT, speed_mps=speed_mps)

    plan = lawnmower(0, 0, 6.0, 2, 30.0)
    a, b = plan.path[0].copy(), plan.path[40].copy()
    out = transit_path(plan, a, b, 2.0, Planner())
    assert len(out) == 1 and Planner.calls[0][2] == plan.turn_radius_m


def test_build_piece_prefixes_a_transit_and_records_its_source():
    plans, _ = field_plans(["a", "b"])
    plan, other = plans["a"], plans["b"]
    a, b = split_remaining(plan, 100, 1)[0]
    piece = build_piece(plan, a, b, other.path[-1], 3.0, source_mission=7)
    n = piece.meta["transit_samples"]
    assert n > 0 and piece.meta["source_mission"] == 7 and piece.meta["source_range"] == [a, b]
    assert (piece.path[n:] == plan.path[a:b]).all()
    assert (piece.path["kind"][:n] == SegmentKind.TRANSIT).all()
    assert piece.path["x"][0] == other.path["x"][-1]
    assert plan.boundary.buffer(1e-6).covers(LineString(piece.xy[:n + 1]))
    # a vehicle standing outside the field first drives to the nearest point inside it
    outside = other.path[-1].copy()
    outside["y"] = -40.0
    piece = build_piece(plan, a, b, outside, 3.0)
    xy = piece.xy[:piece.meta["transit_samples"] + 1]
    inside = np.array([plan.boundary.buffer(1e-6).covers(Point(p)) for p in xy])
    assert not inside[0] and inside[np.argmax(inside):].all()


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
    assert manager.job_status(job2)["state"] == "complete"      # nothing open is left


from agrifleet.core.fleet import dubins_words, sample_dubins
from hypothesis import given
from hypothesis import strategies as st

pose = st.tuples(st.floats(-60, 60), st.floats(-60, 60), st.floats(-4, 4))


@given(pose, pose, st.floats(0.5, 12.0))
def test_every_dubins_word_ends_on_the_goal_pose_with_bounded_curvature(start, goal, radius):
    words = dubins_words(start, goal, radius)
    assert words and [sum(w[1]) for w in words] == sorted(sum(w[1]) for w in words)
    for word, lengths in words:
        poses = sample_dubins(start, word, lengths, radius, 0.25)
        assert poses[-1, 0] == pytest.approx(goal[0], abs=1e-6) and poses[-1, 1] == pytest.approx(goal[1], abs=1e-6)
        assert math.cos(poses[-1, 2] - goal[2]) == pytest.approx(1.0, abs=1e-9)
        step = np.hypot(*np.diff(poses[:, :2], axis=0).T)
        turn = np.abs(np.diff(poses[:, 2]))
        assert (turn <= 2 * np.arcsin(np.minimum(1.0, step / (2 * radius))) + 1e-9).all()   # radius kept


def test_transit_lines_up_with_the_goal_and_respects_the_turning_radius():
    plans, field = field_plans(["a", "b"], width_m=10.0)
    plan = plans["a"]
    start = plans["b"].path[-1].copy()
    goal = plan.path[120].copy()
    path = transit_path(plan, start, goal, 3.0)
    full = np.concatenate([path, goal[None]])
    heading = full["heading"]
    step = np.hypot(np.diff(full["x"]), np.diff(full["y"]))
    turn = np.abs(np.angle(np.exp(1j * np.diff(heading))))
    assert (turn <= 2 * np.arcsin(np.minimum(1.0, step / (2 * plan.turn_radius_m))) + 1e-6).all()
    assert math.cos(heading[-2] - goal["heading"]) == pytest.approx(1.0)       # arrives in line
    assert field.buffer(1e-6).covers(LineString(np.column_stack([full["x"], full["y"]])))
