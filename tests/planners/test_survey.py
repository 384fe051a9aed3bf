"""Drone survey and spray plans: swath from the implement, lines, turnarounds, obstacles, target zones,
terrain following, the plugin."""
from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from agrifleet.core.errors import ConfigError
from agrifleet.core.field import Field
from agrifleet.core.plan import SegmentKind
from agrifleet.core.plugin import load
from agrifleet.planners._drone_energy import FlightModel
from agrifleet.planners.metrics import GRID_M
from agrifleet.planners.survey import SurveyParams, plan_survey, survey_params, swath_from_implement
from agrifleet.sim.vehicles import EXAMPLE_DRONE
from agrifleet.sim.world import HeightMap
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Polygon, box


def rect(w: float = 200.0, h: float = 100.0, holes=()) -> Field:
    return Field("rect", Polygon(box(0, 0, w, h).exterior, [list(hh.exterior.coords) for hh in holes]))


def working(plan) -> list[LineString]:
    xy = plan.xy
    return [LineString(xy[s.start:s.stop + 1]) for s in plan.segments()
            if s.kind == SegmentKind.SWATH and s.sections and s.stop + 1 - s.start >= 2]


def lines_of(plan, kind: SegmentKind) -> list[LineString]:
    xy = plan.xy
    return [LineString(xy[s.start:s.stop + 1]) for s in plan.segments()
            if s.kind == kind and s.stop + 1 - s.start >= 2]


def test_camera_swath_is_the_footprint_less_the_side_overlap_and_reports_the_gsd():
    sw = swath_from_implement("camera:altitude_m=80")
    # 13.2 x 8.8 mm sensor behind 8.8 mm: 1.5 x 1.0 times the height on the ground
    assert sw.footprint_m == pytest.approx((120.0, 80.0))
    assert sw.width_m == pytest.approx(120.0 * (1 - 0.7))
    assert sw.gsd_m == pytest.approx(13.2 * 80 / (8.8 * 5472))
    low = swath_from_implement("camera:altitude_m=80", altitude_m=40.0)   # the plan's height wins
    assert low.width_m == pytest.approx(18.0) and low.gsd_m == pytest.approx(sw.gsd_m / 2)
    params = survey_params(sw, EXAMPLE_DRONE)
    assert params.altitude_m == 80.0 and params.width_m == pytest.approx(36.0)
    plan = plan_survey(rect(400, 288), params, meta={"gsd_m": sw.gsd_m})   # eight widths across
    assert plan.meta["gsd_m"] == pytest.approx(0.02193, abs=1e-5)
    assert np.all(plan.path["z"] == pytest.approx(80.0))
    # adjacent lines one working width apart
    a = plan.meta["angle_deg"]
    normal = np.array([-math.sin(math.radians(a)), math.cos(math.radians(a))])
    across = sorted({round(float(np.dot(ln.coords[0], normal)), 3) for ln in working(plan)})
    assert np.allclose(np.diff(across), 36.0, atol=1e-6)
    assert plan.metrics.coverage_ratio > 0.999


def test_rectangle_is_flown_along_its_long_side_and_covered_inside_the_field():
    plan = plan_survey(rect(), SurveyParams(width_m=10.0))
    assert round(plan.meta["angle_deg"]) % 180 == 0
    swaths = working(plan)
    assert len(swaths) == 10 and all(s.length == pytest.approx(200.0) for s in swaths)
    m = plan.metrics
    assert m.coverage_ratio == pytest.approx(1.0, abs=1e-6)
    assert m.overlap_ratio == pytest.approx(0.0, abs=1e-6)
    assert m.boundary_violations == 0
    assert shapely.covers(box(0, 0, 200, 100).buffer(1e-6), LineString(plan.xy))
    # zero turnaround: straight sideways moves of one width, flown at the side speed
    turns = lines_of(plan, SegmentKind.TURN)
    assert len(turns) == 9 and all(t.length == pytest.approx(10.0) for t in turns)
    assert set(plan.path["speed"][plan.path["kind"] == SegmentKind.TURN]) == {2.0}
    assert set(plan.path["sections"][plan.path["kind"] == SegmentKind.TURN]) == {0}


def test_arc_turnaround_is_a_half_circle_of_half_a_width_at_the_speed_it_allows():
    params = SurveyParams(width_m=10.0, turnaround="arc", angle_deg=0.0, accel_mps2=3.0)
    plan = plan_survey(rect(), params)
    turns = lines_of(plan, SegmentKind.TURN)
    assert len(turns) == 9
    for t in turns:
        assert t.length == pytest.approx(math.pi * 5.0, rel=0.02)
        xs = np.asarray(t.coords)[:, 0]
        beyond = max(xs.max() - 200.0, -xs.min())
        assert beyond == pytest.approx(5.0, abs=0.05)   # leaves the field by half a width
    assert params.arc_speed_mps == pytest.approx(math.sqrt(3.0 * 5.0))
    assert set(plan.path["speed"][plan.path["kind"] == SegmentKind.TURN]) == {np.float32(math.sqrt(15.0))}
    assert plan.metrics.boundary_violations == 9


def test_obstacles_are_flown_round_or_over_with_the_implement_off():
    hole = box(80, 30, 120, 70)
    fld = rect(holes=[hole])
    inside = hole.buffer(-0.01)
    avoid = plan_survey(fld, SurveyParams(width_m=7.0, obstacles="avoid"))
    assert LineString(avoid.xy).intersection(inside).length == pytest.approx(0.0, abs=1e-6)
    assert avoid.metrics.boundary_violations == 0 and avoid.meta["n_cells"] > 1
    over = plan_survey(fld, SurveyParams(width_m=7.0, obstacles="overfly"))
    assert over.meta["n_cells"] == 1
    assert sum(s.intersection(inside).length for s in working(over)) == pytest.approx(0.0, abs=1e-6)
    crossing = sum(t.intersection(inside).length for t in lines_of(over, SegmentKind.TRANSIT))
    assert crossing > 5 * 40.0   # it flies straight over the obstacle, spraying off
    for plan in (avoid, over):
        assert plan.metrics.coverage_ratio > 0.97
    flight = FlightModel(EXAMPLE_DRONE)   # with the stops at every sharp corner
    assert flight.stretch_times(over.path).sum() < flight.stretch_times(avoid.path).sum()


def test_only_the_target_zone_is_worked():
    fld = rect(300, 200)
    zone = Polygon([(150, 20), (280, 40), (260, 180), (170, 150)])
    plan = plan_survey(fld, SurveyParams(width_m=6.0), target=zone)
    assert plan.meta["work_area_m2"] == pytest.approx(zone.area)
    assert plan.metrics.coverage_ratio > 0.97
    strips = shapely.union_all([s.buffer(3.0, cap_style="flat") for s in working(plan)], grid_size=GRID_M)
    assert strips.difference(zone).area < 0.03 * zone.area
    assert shapely.covers(fld.boundary.buffer(1e-6), LineString(plan.xy))


def test_terrain_following_keeps_the_height_within_climb_and_descent_rates():
    x = np.arange(0.0, 201.0, 5.0)
    ground = np.where((x > 80) & (x < 120), 15.0, 0.0)   # a 15 m high, 40 m wide bank: steeper than 2 m/s
    heights = np.tile(ground, (21, 1))
    terrain = HeightMap(heights, (0.0, 0.0), 5.0)
    params = SurveyParams(width_m=10.0, altitude_m=4.0, angle_deg=0.0)
    plan = plan_survey(rect(), params, terrain=terrain)
    p = plan.path
    g = np.array([terrain.height_at(a, b) for a, b in zip(p["x"], p["y"])])
    alt = g + p["z"]
    assert np.all(p["z"] >= 4.0 - 1e-4)
    flat = plan_survey(rect(), params, terrain=HeightMap(np.zeros((3, 3)), (0.0, 0.0), 100.0))
    assert np.allclose(flat.path["z"], 4.0)
    dt = np.hypot(np.diff(p["x"]), np.diff(p["y"])) / p["speed"][:-1]
    rate = np.diff(alt) / np.maximum(dt, 1e-9)
    assert rate.max() <= 2.0 + 1e-3 and rate.min() >= -2.0 - 1e-3
    assert np.max(np.diff(p["x"])[p["kind"][:-1] == SegmentKind.SWATH]) <= 10.0 + 1e-9
    swath = (p["kind"] == SegmentKind.SWATH) & (p["y"] == 5.0)
    before = swath & (p["x"] > 70) & (p["x"] <= 80)
    assert np.all(p["z"][before] > 4.5)   # it starts climbing before the bank


def test_implement_and_speed_limits_are_checked_in_one_line():
    with pytest.raises(ConfigError, match="for ground vehicles"):
        swath_from_implement("sprayer")
    cam = swath_from_implement("camera:altitude_m=30")
    with pytest.raises(ConfigError, match=r"speed 9 m/s is above the camera's limit of \d"):
        survey_params(cam, EXAMPLE_DRONE, speed_mps=9.0)
    assert survey_params(cam, EXAMPLE_DRONE).speed_mps == pytest.approx(min(5.0, cam.max_speed_mps))
    with pytest.raises(ConfigError, match="turnaround"):
        SurveyParams(width_m=5.0, turnaround="loop")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="width_m"):
        SurveyParams(width_m=0.0)


def test_plugin_plans_from_the_implement_and_offers_drone_transits():
    planner = load("agrifleet.planners", "survey")()
    (plan,) = planner.plan([rect()], {"altitude_m": 40.0, "turn_radius_m": 4.0}, implement="camera",
                           vehicle="d1")
    assert plan.width_m == pytest.approx(18.0) and plan.meta["gsd_m"] == pytest.approx(0.01096, abs=1e-5)
    assert plan.vehicle == "d1" and plan.implement == "camera"
    fld = rect(holes=[box(80, 30, 120, 70)])
    legs = planner.transit(fld.boundary, (60.0, 50.0, 0.0), (140.0, 50.0, 0.0), 4.0, 6.0)
    assert legs["kind"][0] == SegmentKind.TRANSIT and set(legs["speed"]) == {6.0}
    line = LineString(np.column_stack([legs["x"], legs["y"]]))
    assert shapely.covers(fld.boundary.buffer(1e-6), line)
    assert line.length < 2 * math.hypot(40.0, 20.0) + 20.0 + 4.0   # round a corner, not the field


@settings(max_examples=max(6, settings.default.max_examples // 4), deadline=None)
@given(st.lists(st.tuples(st.floats(0, 2 * math.pi), st.floats(60, 250)), min_size=4, max_size=8),
       st.floats(3.0, 12.0), st.booleans())
def test_zero_turnarounds_stay_in_a_random_field_and_miss_only_its_edges(corners, width, with_hole):
    pts = sorted(corners)
    poly = Polygon([(r * math.cos(a), r * math.sin(a)) for a, r in pts]).convex_hull
    if poly.area < 2000 or not isinstance(poly, Polygon):
        return
    holes = [poly.centroid.buffer(15.0, quad_segs=2)] if with_hole and poly.buffer(-30).contains(
        poly.centroid.buffer(15.0)) else []
    fld = Field("random", Polygon(poly.exterior, [list(h.exterior.coords) for h in holes]))
    plan = plan_survey(fld, SurveyParams(width_m=width))
    assert plan.metrics.boundary_violations == 0
    assert shapely.covers(fld.boundary.buffer(1e-3), LineString(plan.xy))
    # what is left uncovered lies along the edges: slanted ends and sides the lines cannot reach
    strips = shapely.union_all([ln.buffer(0.5 * width, cap_style="flat") for ln in working(plan)],
                               grid_size=GRID_M)
    edges = shapely.union_all([fld.boundary.exterior, *fld.boundary.interiors]).buffer(width)
    missed = shapely.difference(fld.boundary, strips, grid_size=GRID_M)
    missed = shapely.difference(missed, edges, grid_size=GRID_M)
    assert missed.area < 1e-3 * fld.area_m2
