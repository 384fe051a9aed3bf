"""Re-planning geometry: pieces of unfinished work, Dubins transits inside the boundary."""
from __future__ import annotations

import math

import numpy as np
import pytest
from agrifleet.core.plan import PATH_DTYPE, SegmentKind, make_path
from agrifleet.core.replan import (
    build_piece,
    dubins_words,
    sample_dubins,
    split_remaining,
    transit_path,
    working_cumulative,
)
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon

from .fleet_doubles import field_plans, lawnmower


def working_stretches(plan, a=0, b=None):
    k = plan.path["kind"][:-1]
    idx = np.flatnonzero(np.isin(k, [SegmentKind.SWATH, SegmentKind.HEADLAND]))
    return {int(i) for i in idx if i >= a and (b is None or i < b - 1)}


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
