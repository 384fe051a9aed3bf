"""The coverage pipeline end to end: plans exist, cover the field, stay inside it and can be driven."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, note, settings
from hypothesis import strategies as st
from shapely import wkt
from shapely.geometry import Polygon

from agrifleet.core.field import Field
from agrifleet.core.plan import SegmentKind
from agrifleet.planners.coverage import CoveragePlanner, plan_field
from agrifleet.planners.metrics import heading_jumps, max_curvature, outside_length_m
from agrifleet.planners.params import CoverageParams
from tests.planners.polygons import fields_with_holes


def check_drivable(plan, radius_m: float, step_m: float) -> None:
    p = plan.path
    xy = plan.xy
    gaps = np.hypot(*np.diff(xy, axis=0).T)
    curved = p["kind"][:-1] != SegmentKind.SWATH
    assert gaps[curved].max() <= 2.0 * step_m + 1e-6, "a non-swath stretch jumps"
    # measured over a few samples: arcs are polygons whose chords are half a sample step
    assert max_curvature(plan, window_m=4.0 * step_m) <= 1.05 / radius_m
    assert heading_jumps(plan) == 0


def test_rectangle_plan_figures():
    field = Field("r", Polygon([(0, 0), (200, 0), (200, 100), (0, 100)]))
    params = CoverageParams(width_m=6, turn_radius_m=5, headland_passes=2)
    plan = plan_field(field, params)
    m = plan.metrics
    assert plan.meta["angle_deg"] % 180 == pytest.approx(0.0)
    assert m.n_swaths == 13 and m.n_turns >= 12
    assert m.coverage_ratio >= 0.995 and m.overlap_ratio < 1e-6 and m.boundary_violations == 0
    # 13 swaths of 176 m, two headland rings of roughly the inner perimeters
    assert m.working_length_m == pytest.approx(13 * 176, rel=0.01)
    assert 900 < m.headland_length_m < 1100
    assert set(np.unique(plan.path["kind"])) >= {SegmentKind.SWATH, SegmentKind.TURN, SegmentKind.HEADLAND}
    check_drivable(plan, 5.0, params.sample_step_m)


def test_wide_turning_circle_avoids_bulbs():
    field = Field("r", Polygon([(0, 0), (300, 0), (300, 150), (0, 150)]))
    plan = plan_field(field, CoverageParams(width_m=4, turn_radius_m=6, headland_passes=3, angle_deg=0))
    n_turns = plan.metrics.n_turns
    # a bulb between adjacent 4 m lines with a 6 m radius is over 37 m; a skip-row U-turn ~ pi * r + slack
    assert plan.metrics.turn_length_m / n_turns < 26.0


def test_reeds_shepp_turns_are_shorter_and_reverse():
    field = Field("r", Polygon([(0, 0), (200, 0), (200, 120), (0, 120)]))
    base = CoverageParams(width_m=6, turn_radius_m=5, headland_passes=2, angle_deg=0)
    dubins = plan_field(field, base)
    rs = plan_field(field, CoverageParams(**{**base.to_dict(), "turns": "reeds-shepp"}))
    assert rs.metrics.turn_length_m < dubins.metrics.turn_length_m
    assert rs.metrics.reverse_length_m > 0 and dubins.metrics.reverse_length_m == 0
    assert rs.metrics.boundary_violations == 0


def test_obstacles_get_headland_passes_and_are_never_entered():
    field = Field("h", Polygon([(0, 0), (300, 0), (300, 200), (0, 200)],
                               [[(120, 80), (160, 80), (160, 120), (120, 120)]]))
    plan = plan_field(field, CoverageParams(width_m=6, turn_radius_m=5, headland_passes=2))
    m = plan.metrics
    assert m.boundary_violations == 0 and outside_length_m(plan, field.boundary) == 0.0
    assert m.coverage_ratio >= 0.995
    # two passes around the obstacle plus two around the boundary: 4 headland loops
    assert len({s for s in plan.path["swath"][plan.path["kind"] == SegmentKind.HEADLAND]}) == 4
    check_drivable(plan, 5.0, 0.5)


def test_u_field_is_split_into_cells_without_leaving_it():
    u = Polygon([(0, 0), (300, 0), (300, 250), (190, 250), (190, 60), (110, 60), (110, 250), (0, 250)])
    plan = plan_field(Field("u", u), CoverageParams(width_m=6, turn_radius_m=5, headland_passes=2, angle_deg=0))
    assert plan.meta["n_cells"] >= 3
    assert plan.metrics.boundary_violations == 0
    assert plan.metrics.coverage_ratio >= 0.995


def test_objective_swaths_takes_fewest_swaths():
    field = Field("long", Polygon([(0, 0), (400, 0), (400, 60), (0, 60)]))
    plan = plan_field(field, CoverageParams(width_m=6, turn_radius_m=5, headland_passes=2, objective="swaths"))
    assert plan.meta["angle_deg"] % 180 == pytest.approx(0.0) and plan.metrics.n_swaths == 6


def test_headland_too_narrow_to_turn_in_gets_more_passes():
    field = Field("r", Polygon([(0, 0), (200, 0), (200, 100), (0, 100)]))
    plan = plan_field(field, CoverageParams(width_m=3, turn_radius_m=6, headland_passes=1, angle_deg=0))
    assert plan.meta["headland_passes"] == 3     # 3 x 3 m >= 6 m radius + 1.5 m half implement
    assert plan.metrics.boundary_violations == 0 and plan.metrics.coverage_ratio >= 0.995


def test_no_headland_keeps_turns_inside():
    field = Field("r", Polygon([(0, 0), (120, 0), (120, 80), (0, 80)]))
    plan = plan_field(field, CoverageParams(width_m=5, turn_radius_m=4, headland_passes=0, angle_deg=0))
    assert plan.metrics.boundary_violations == 0
    assert plan.metrics.headland_length_m == 0.0


def test_planner_plugin_plans_every_field():
    fields = [Field("a", Polygon([(0, 0), (100, 0), (100, 60), (0, 60)])),
              Field("b", Polygon([(300, 0), (420, 0), (420, 90), (300, 90)]))]
    plans = CoveragePlanner().plan(fields, {"width_m": 6, "turn_radius_m": 5})
    assert [p.field_name for p in plans] == ["a", "b"]
    assert all(p.metrics.boundary_violations == 0 for p in plans)


# Fields Hypothesis once found, kept: a swath ending beside an obstacle's headland (the road round the
# obstacle, not shortened swaths), a last swath running into an acute corner (no way out for a forward-only
# machine unless pulled back), slanted ends under loop turns, and joins onto a headland pass that end in a cusp.
_FOUND = [
    (("POLYGON ((-57.7763 166.7973, -113.9331 148.8276, -172.0659 -44.9755, -31.7408 -170.4079, "
      "24.5692 -182.8769, -57.7763 166.7973), (-80.4637 -5.8548, -83.7605 3.742, -82.2992 4.3423, "
      "-73.3589 3.0028, -72.9466 -0.3073, -77.4011 -5.5817, -80.4637 -5.8548))"), 6.453125, 5.0, 1, "dubins"),
    (("POLYGON ((9.4484 79.4401, -38.6294 70.0555, -71.6527 35.5793, -78.9653 12.8252, -19.3744 -77.6185, "
      "9.4484 79.4401))"), 3.0, 6.0, 1, "dubins"),
    (("POLYGON ((-30.3108 74.0355, -67.4963 42.9447, -36.1464 -71.3683, -25.4344 -75.8492, 60.5829 -52.2467, "
      "-30.3108 74.0355))"), 6.0, 6.0, 1, "dubins"),
    (("POLYGON ((-3.5529 98.9947, -59.6807 182.1056, -120.1966 37.1259, -99.0196 -105.4826, 82.7418 -166.7022, "
      "133.6473 -20.7849, -3.5529 98.9947), (3.4947 -95.6638, 1.4776 -93.2394, 0.3847 -75.2815, "
      "3.0969 -73.6474, 19.0431 -77.5658, 12.7746 -92.8817, 10.2107 -93.8217, 3.4947 -95.6638))"),
     3.0, 2.0, 1, "reeds-shepp"),
    (("POLYGON ((90 0, 63.6396 63.6396, 0 90, -63.6396 63.6396, -90 0, -63.6396 -63.6396, 0 -90, "
      "63.6396 -63.6396, 90 0), (-11.11 10.2534, -15.2492 16.0082, -14.7699 20.3146, -14.4895 20.9752, "
      "-11.4256 24.0919, -8.3422 23.1084, -4.9392 17.5785, -11.11 10.2534))"), 3.0, 2.0, 1, "reeds-shepp"),
]


def _with_found_examples(test):
    for text, width, radius, passes, turns in _FOUND:
        test = example(wkt.loads(text), width, radius, passes, turns)(test)
    return test


@_with_found_examples
@given(fields_with_holes(), st.floats(3, 10), st.floats(2, 7), st.integers(1, 3),
       st.sampled_from(["dubins", "reeds-shepp"]))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_fields_with_holes_plan_cleanly(poly, width, radius, passes, turns):
    # a field, not a yard: most of it lies inside the headlands
    assume(poly.buffer(-(passes * width + 2 * radius)).area > 0.3 * poly.area)
    note(f"field: {poly.wkt}")
    params = CoverageParams(width_m=width, turn_radius_m=radius, headland_passes=passes, turns=turns,
                            sample_step_m=min(0.5, radius / 4))
    plan = plan_field(Field("random", poly), params)
    m = plan.metrics
    assert m.boundary_violations == 0, plan.meta
    assert outside_length_m(plan, poly) < 0.01
    assert m.coverage_ratio >= 0.99
    assert m.n_swaths > 0
    check_drivable(plan, radius, params.sample_step_m)


def test_path_is_one_sequence_of_samples_that_start_where_the_last_ended():
    field = Field("r", Polygon([(0, 0), (150, 0), (150, 90), (0, 90)], [[(60, 30), (80, 30), (80, 50), (60, 50)]]))
    plan = plan_field(field, CoverageParams(width_m=6, turn_radius_m=5))
    segs = list(plan.segments())
    assert segs[0].start == 0 and segs[-1].stop == len(plan.path)
    assert all(a.stop == b.start for a, b in zip(segs, segs[1:]))
    assert not math.isnan(plan.metrics.coverage_ratio)


def test_planner_transit_goes_around_obstacles_for_the_fleet():
    from shapely.geometry import LineString

    field = Polygon([(0, 0), (200, 0), (200, 100), (0, 100)], [[(90, 30), (110, 30), (110, 70), (90, 70)]])
    path = CoveragePlanner().transit(field, (60, 50, 0.0), (140, 50, 0.0), 5.0, 3.0)
    assert set(np.unique(path["kind"])) == {SegmentKind.TRANSIT} and (path["speed"] == 3.0).all()
    assert path[0][["x", "y"]].tolist() == (60.0, 50.0) and path[-1][["x", "y"]].tolist() == (140.0, 50.0)
    assert field.buffer(1e-6).covers(LineString(np.column_stack([path["x"], path["y"]])))


def _samples(rows):
    from agrifleet.core.plan import PATH_DTYPE
    out = np.zeros(len(rows), dtype=PATH_DTYPE)
    out["x"], out["y"], out["direction"] = np.array(rows).T
    return out


def test_joins_close_cusp_slivers_and_drop_empty_reversals():
    from agrifleet.planners.coverage import _tidy_joins
    # a reversing curve whose last, forward segment is empty, joined 0.7 mm short of the next stretch
    path = _tidy_joins(_samples([(1.0, 0, -1), (0.5, 0, -1), (0.0, 0, -1), (0.0, 0, 1), (-0.0007, 0, 1),
                                 (-0.5, 0, 1)]))
    assert path["x"].tolist() == [1.0, 0.5, -0.0007, -0.0007, -0.5]
    assert path["direction"].tolist() == [-1, -1, -1, 1, 1]
    # a forward curve with a 0.4 mm reversal before the next stretch: no reversal at all
    path = _tidy_joins(_samples([(0.0, 0, 1), (0.5, 0, 1), (0.5, 0, -1), (0.5004, 0, 1), (1.0, 0, 1)]))
    assert path["x"].tolist() == [0.0, 0.5004, 1.0] and set(path["direction"]) == {1}
