"""Decimation keeps every sample within the tolerance of the route and every break point on it."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agrifleet.core.plan import SegmentKind, make_path
from agrifleet.planners.export._decimate import break_points, decimate, point_segment_distance

from .plans import random_plans


def _worst_deviation(path: np.ndarray, keep: np.ndarray) -> float:
    pts = np.column_stack([path["x"], path["y"], path["z"].astype(float)])
    worst = 0.0
    for a, b in zip(keep[:-1], keep[1:]):
        if b - a > 1:
            worst = max(worst, float(point_segment_distance(pts[a + 1:b], pts[a], pts[b]).max()))
    return worst


@given(random_plans(), st.sampled_from([0.0, 0.05, 0.1, 0.5, 2.0]))
def test_every_sample_stays_within_tolerance_and_break_points_stay(plan, tol: float) -> None:
    keep = decimate(plan.path, tol)
    assert keep[0] == 0 and keep[-1] == len(plan.path) - 1
    assert np.all(np.diff(keep) > 0)
    assert set(break_points(plan.path)) <= set(keep.tolist())
    assert _worst_deviation(plan.path, keep) <= tol + 1e-9


def test_straight_line_keeps_its_ends_and_arc_follows_the_sagitta() -> None:
    line = make_path(np.column_stack([np.linspace(0, 100, 101), np.zeros(101)]), kind=SegmentKind.SWATH,
                     speed_mps=2.0)
    assert decimate(line, 0.01).tolist() == [0, 100]
    r, tol = 10.0, 0.1
    ang = np.linspace(0, math.pi, 1801)
    arc = make_path(np.column_stack([r * np.cos(ang), r * np.sin(ang)]), kind=SegmentKind.TURN, speed_mps=1.0)
    keep = decimate(arc, tol)
    # a chord of angle theta strays r * (1 - cos(theta / 2)) from the arc: at least pi / theta_max chords
    theta_max = 2 * math.acos(1 - tol / r)
    assert math.ceil(math.pi / theta_max) <= len(keep) - 1 <= 2 * math.ceil(math.pi / theta_max) + 1
    assert _worst_deviation(arc, keep) <= tol


def test_attribute_changes_are_kept_even_on_a_straight_line() -> None:
    xy = np.column_stack([np.linspace(0, 30, 31), np.zeros(31)])
    path = np.concatenate([make_path(xy[:10], kind=SegmentKind.SWATH, speed_mps=2.0, sections=1),
                           make_path(xy[10:20], kind=SegmentKind.SWATH, speed_mps=2.0, sections=3),
                           make_path(xy[20:], kind=SegmentKind.SWATH, speed_mps=1.0, sections=3)])
    assert decimate(path, 1.0).tolist() == [0, 10, 20, 30]


def test_distance_to_a_degenerate_segment_is_to_its_point() -> None:
    d = point_segment_distance(np.array([[3.0, 4.0]]), np.zeros(2), np.zeros(2))
    assert d.tolist() == pytest.approx([5.0])
