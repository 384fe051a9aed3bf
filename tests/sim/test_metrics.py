"""Trial measurements: cross-track error on settled working passes, and geofence breaches."""
from __future__ import annotations

import math

import numpy as np
import pytest
from agrifleet.core.plan import Plan, SegmentKind, make_path
from agrifleet.sim._metrics import PlanView, TrialMetrics
from agrifleet.sim.vehicles import EXAMPLE_TRACTOR, TractorModel
from agrifleet.sim.world import World
from shapely.geometry import box


def swath_turn_headland() -> Plan:
    swath = make_path([(0, 0), (100, 0)], kind=SegmentKind.SWATH, speed_mps=2.5, sections=1, swath=0)[:-1]
    turn = make_path([(100, 0), (105, 5), (100, 10)], kind=SegmentKind.TURN, speed_mps=1.5)[:-1]
    head = make_path([(100, 10), (50, 10), (0, 10)], kind=SegmentKind.HEADLAND, speed_mps=2.5, sections=1,
                     swath=1)
    return Plan(np.concatenate([swath, turn, head]))


def test_cross_track_is_taken_on_settled_working_passes_only():
    view = PlanView(swath_turn_headland())
    assert view.cross_track(50.0, 0.3, 0, 10.0) == (pytest.approx(0.3), True)
    assert view.cross_track(50.0, -0.2, 0, 10.0) == (pytest.approx(0.2), True)
    assert view.cross_track(5.0, 0.3, 0, 10.0) is None            # entering the pass: not settled yet
    assert view.cross_track(95.0, 0.3, 0, 10.0) is None           # leaving it
    assert view.cross_track(5.0, 0.3, 0, 0.0) == (pytest.approx(0.3), True)
    assert view.cross_track(104.0, 5.0, 1, 0.0) is None           # on the turn
    # the headland pass is one run of two segments: settled in its middle, and not a swath
    assert view.cross_track(50.0, 10.4, 3, 10.0) == (pytest.approx(0.4), False)


def world_with_tractor(x: float, y: float) -> tuple[World, TractorModel]:
    world = World(rng=np.random.default_rng(0))
    model = TractorModel(EXAMPLE_TRACTOR)
    model.place(x, y, 0.0)
    world.add_vehicle("t", model)
    return world, model


def test_breaches_count_once_the_vehicle_has_been_inside_the_fence():
    world, model = world_with_tractor(50.0, -20.0)                # in the yard, outside the fence
    metrics = TrialMetrics(world, ["t"], lambda v: None, box(0, 0, 100, 50).buffer(2.0), 1, 10.0)
    metrics(world)
    assert metrics.vehicles["t"].breaches == []                   # arriving from outside is no breach
    for x, y, t in [(50.0, 10.0, 1.0), (50.0, -3.0, 2.0), (50.0, -6.0, 3.0), (50.0, 1.0, 4.0)]:
        model.state.x, model.state.y = x, y
        world.steps += 1
        world.t0_s = t - world.steps * world.dt_s
        metrics(world)
    (breach,) = metrics.vehicles["t"].breaches
    assert breach["at_s"] == pytest.approx(2.0) and breach["back_at_s"] == pytest.approx(4.0)
    assert breach["max_outside_m"] == pytest.approx(4.0)
    m = metrics.vehicles["t"]
    assert m.distance_m == pytest.approx(30.0 + 13.0 + 3.0 + 7.0)
    assert len(m.track) >= 5 and m.working_m == 0.0


def test_the_error_is_measured_against_the_plan_the_agent_drives():
    plan = swath_turn_headland()
    world, model = world_with_tractor(50.0, 0.25)
    driving = {"t": (plan, 0)}
    metrics = TrialMetrics(world, ["t"], driving.get, None, 1, 10.0)
    metrics(world)
    del driving["t"]
    model.state.y = 3.0
    metrics(world)                                                # not driving a plan: not measured
    stats = metrics.vehicles["t"].xte_swath.to_dict()
    assert stats == {"rms_m": pytest.approx(0.25), "max_m": pytest.approx(0.25), "samples": 1}
    assert math.isnan(metrics.vehicles["t"].xte_headland.rms_m)
