"""Path following closed around the simulated vehicle models (truth pose, no sensor noise)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from agrifleet.core.errors import ConfigError, PlanError
from agrifleet.core.guidance import AirPathFollower, GuidanceParams, PathFollower, SteeringLaw
from agrifleet.core.plan import Plan, SegmentKind, make_path
from agrifleet.core.vehicle import AirControl, GroundControl
from agrifleet.sim.vehicles import EXAMPLE_DRONE, EXAMPLE_TRACTOR, MultirotorModel, TractorModel
from agrifleet.sim.world import CALM

SPEC = EXAMPLE_TRACTOR


def uturn_plan(width: float = 10.0, length: float = 80.0) -> Plan:
    a = make_path([(0, 0), (length, 0)], kind=SegmentKind.SWATH, speed_mps=2.5, sections=0b1111, swath=0)
    th = np.linspace(-math.pi / 2, math.pi / 2, 40)[1:-1]
    turn = make_path(np.column_stack([length + width / 2 * np.cos(th), width / 2 + width / 2 * np.sin(th)]),
                     kind=SegmentKind.TURN, speed_mps=1.5)
    b = make_path([(length, width), (0, width)], kind=SegmentKind.SWATH, speed_mps=2.5, sections=0b1111,
                  swath=1)
    return Plan(np.concatenate([a, turn, b]))


def follow(plan: Plan, follower: PathFollower, model: TractorModel, max_s: float = 400.0,
           control_dt: float = 0.1, dt: float = 0.05) -> list[tuple]:
    log = []
    for _ in range(round(max_s / control_dt)):
        s = model.state
        cmd = follower.update(s.x, s.y, s.heading_rad, s.speed_mps)
        log.append((s.x, s.y, s.speed_mps, cmd))
        if cmd.done:
            break
        for _ in range(round(control_dt / dt)):
            model.step(dt, GroundControl(cmd.steer_rad, cmd.speed_mps, cmd.sections), CALM)
    return log


@pytest.mark.parametrize("law", list(SteeringLaw))
def test_converges_onto_a_straight_swath_and_holds_it(law):
    plan = Plan(make_path([(0, 0), (150, 0)], kind=SegmentKind.SWATH, speed_mps=2.5, sections=1, swath=0))
    t = TractorModel(SPEC)
    t.arm()
    t.place(-5.0, 1.5, 0.2)
    f = PathFollower(plan, SPEC.wheelbase_m, SPEC.max_steer_rad, GuidanceParams(law=law))
    log = follow(plan, f, t)
    assert log[-1][3].done and log[-1][3].plan_index == 1
    xte = np.array([c.cross_track_m for x, *_, c in log if x > 40.0])
    assert np.sqrt(np.mean(xte ** 2)) < 0.01
    for _ in range(100):  # the follower is done: it holds speed 0 and the tractor brakes
        t.step(0.05, GroundControl(log[-1][3].steer_rad, log[-1][3].speed_mps), CALM)
    assert t.state.x == pytest.approx(150.0, abs=0.3) and t.state.speed_mps == 0.0


def test_u_turn_tracks_the_rear_axle_and_switches_sections_at_the_implement():
    plan = uturn_plan()
    lag = SPEC.hitch_offset_m + SPEC.implement_offset_m
    t = TractorModel(SPEC)
    t.arm()
    f = PathFollower(plan, SPEC.wheelbase_m, SPEC.max_steer_rad, GuidanceParams(implement_lag_m=lag))
    log = follow(plan, f, t)
    assert log[-1][3].done
    cmds = [c for *_, c in log]
    idx = np.array([c.plan_index for c in cmds])
    assert (np.diff(idx) >= 0).all() and idx[-1] == len(plan) - 1  # progress only moves forward
    xte = np.array([c.cross_track_m for c in cmds[:-1]])
    assert np.abs(xte[20:]).max() < 0.15  # turn of radius 5 m, turning radius 4 m
    # The boom switches on when the implement, ``lag`` behind, reaches the start of the swath, and off
    # when it reaches the end at x = 80 (the tractor is then in the turn).
    xs = np.array([x for x, *_ in log[:-1]])
    sections = np.array([c.sections for c in cmds[:-1]])
    first_on = int(np.argmax(sections != 0))
    first_off = first_on + int(np.argmax(sections[first_on:] == 0))
    assert xs[first_on] == pytest.approx(lag, abs=0.3)
    path_len = np.cumsum(np.hypot(np.diff([x for x, *_ in log]), np.diff([y for _, y, *_ in log])))
    assert path_len[first_off - 1] == pytest.approx(80.0 + lag, abs=0.5)  # one control tick is 0.25 m
    assert plan.path["kind"][idx[first_off]] == SegmentKind.TURN
    assert sections[first_on:first_off].all()
    # The plan's last swath ends at x = 0; the tractor drives on until the implement gets there.
    assert t.state.x == pytest.approx(-lag, abs=0.3)
    assert t.state.y == pytest.approx(10.0, abs=0.05)


def test_reverse_stretch_stops_at_the_cusp_then_backs_up():
    fwd = make_path([(0, 0), (20, 0)], kind=SegmentKind.TRANSIT, speed_mps=2.0)
    back = make_path([(20, 0), (20 - 10 * math.cos(0.3), -10 * math.sin(0.3))], kind=SegmentKind.TURN,
                     speed_mps=1.0, direction=-1)
    plan = Plan(np.concatenate([fwd[:-1], back]))  # the cusp sample starts the reverse stretch
    t = TractorModel(SPEC, towed=False)
    t.arm()
    f = PathFollower(plan, SPEC.wheelbase_m, SPEC.max_steer_rad)
    log = follow(plan, f, t)
    speeds = np.array([c.speed_mps for *_, c in log])
    assert speeds.max() == pytest.approx(2.0) and speeds.min() == pytest.approx(-1.0)
    xs = np.array([x for x, *_ in log])
    assert xs.max() == pytest.approx(20.0, abs=0.25)  # stopped at the cusp
    assert (t.state.x, t.state.y) == (pytest.approx(20 - 10 * math.cos(0.3), abs=0.3),
                                      pytest.approx(-10 * math.sin(0.3), abs=0.3))
    assert log[-1][3].done


def test_resume_from_a_later_index_and_bad_input():
    plan = uturn_plan()
    with pytest.raises(PlanError, match="start index"):
        PathFollower(plan, 2.8, 0.6, start_index=len(plan))
    with pytest.raises(PlanError, match="two samples"):
        PathFollower(Plan(plan.path[:1].copy()), 2.8, 0.6)
    with pytest.raises(ConfigError, match="law"):
        GuidanceParams(law="magic")
    with pytest.raises(ConfigError, match="lookahead_min_m"):
        GuidanceParams(lookahead_min_m=0.0)
    last_swath = len(plan) - 2
    t = TractorModel(SPEC)
    t.arm()
    t.place(80.0, 10.0, math.pi)
    f = PathFollower(plan, SPEC.wheelbase_m, SPEC.max_steer_rad, start_index=last_swath)
    first = f.update(80.0, 10.0, math.pi, 0.0)
    assert first.plan_index == last_swath and first.sections == 0b1111
    log = follow(plan, f, t)
    assert log[-1][3].done and len(log) < 500


def test_air_follower_flies_a_square_at_height():
    corners = [(0, 0), (40, 0), (40, 40), (0, 40), (0, 0)]
    pts = np.concatenate([np.linspace(corners[k], corners[k + 1], 20, endpoint=False) for k in range(4)]
                         + [np.array([corners[-1]])])
    plan = Plan(make_path(pts, kind=SegmentKind.SWATH, speed_mps=5.0, sections=1, z_m=3.0))
    d = MultirotorModel(EXAMPLE_DRONE)
    assert d.arm()
    for _ in range(60):
        d.step(0.05, AirControl(vz_mps=2.0), CALM)
    f = AirPathFollower(plan)
    xte, heights = [], []
    for _ in range(1000):
        s = d.state
        cmd = f.update(s.x, s.y, s.z, s.speed_mps)
        if cmd.done:
            break
        xte.append(cmd.cross_track_m)
        heights.append(s.z)
        for _ in range(2):
            d.step(0.05, AirControl(cmd.vx_mps, cmd.vy_mps, cmd.vz_mps, cmd.yaw_rad, cmd.sections), CALM)
    assert f.done and cmd.plan_index == len(plan) - 1
    assert math.hypot(d.state.x, d.state.y) < 0.5
    assert np.abs(heights[100:]).mean() == pytest.approx(3.0, abs=0.05)
    assert np.abs(xte).max() < 0.3  # it brakes into the corners rather than cut them


def test_air_follower_stops_at_a_fold_back_corner_behind_a_repeated_sample():
    """A depot that ends one sortie and starts the next is a repeated sample at a sharp turn: the turn is
    still a corner (it once hid it, and the carrot folded back onto the hovering drone for good)."""
    legs = [make_path([(0, 0), (30, 0)], kind=SegmentKind.SWATH, speed_mps=5.0, sections=1, z_m=3.0)[:-1],
            make_path([(30, 0), (37, -1), (30, 0), (30, 0)], kind=SegmentKind.SERVICE, speed_mps=8.0, z_m=3.0),
            make_path([(35, -7), (5, -7)], kind=SegmentKind.SWATH, speed_mps=5.0, sections=1, z_m=3.0)]
    plan = Plan(np.concatenate(legs))
    d = MultirotorModel(EXAMPLE_DRONE)
    assert d.arm()
    for _ in range(60):
        d.step(0.05, AirControl(vz_mps=2.0), CALM)
    f = AirPathFollower(plan)
    assert 4 in f._corners   # the outgoing leg from the repeated depot sample
    for _ in range(1500):
        s = d.state
        cmd = f.update(s.x, s.y, s.z, s.speed_mps)
        if cmd.done:
            break
        for _ in range(2):
            d.step(0.05, AirControl(cmd.vx_mps, cmd.vy_mps, cmd.vz_mps, cmd.yaw_rad, cmd.sections), CALM)
    assert f.done and math.hypot(d.state.x - 5, d.state.y + 7) < 0.5


def test_progress_is_the_work_done_by_the_trailed_implement():
    # A densely sampled swath: progress must trail the tractor by the implement's lag.
    pts = np.column_stack([np.linspace(0, 60, 61), np.zeros(61)])
    plan = Plan(make_path(pts, kind=SegmentKind.SWATH, speed_mps=2.5, sections=1, swath=0))
    lag = SPEC.hitch_offset_m + SPEC.implement_offset_m
    t = TractorModel(SPEC)
    t.arm()
    f = PathFollower(plan, SPEC.wheelbase_m, SPEC.max_steer_rad, GuidanceParams(implement_lag_m=lag))
    log = follow(plan, f, t)
    for x, _, _, cmd in log[:-1]:
        if x > lag + 1.0:
            assert cmd.plan_index == pytest.approx(x - lag, abs=1.01)  # one sample per metre
    assert [c.plan_index for *_, c in log] == sorted(c.plan_index for *_, c in log)
    assert log[-1][3].plan_index == 60
