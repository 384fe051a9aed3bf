"""The swaths kernel against its numpy reference on random polygons with holes and edge cases."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from agrifleet.ext import kernel
from agrifleet.planners.swaths import pack_rings
from tests.planners.polygons import fields_with_holes

pytestmark = pytest.mark.kernels
K, R = kernel("swaths"), kernel("swaths", reference=True)


def same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape
        assert np.allclose(x, y, rtol=1e-9, atol=1e-7)


@given(fields_with_holes(), st.floats(0, math.pi), st.floats(2, 15))
@settings(max_examples=40)
def test_angle_scan_matches_reference(poly, angle, width):
    xs, ys, off = pack_rings(poly)
    angles = np.array([angle, angle + 0.3, 0.0, math.pi / 2])
    same(K.angle_scan(xs, ys, off, angles, width), R.angle_scan(xs, ys, off, angles, width))


@given(fields_with_holes(), st.floats(0, math.pi), st.floats(2, 15), st.integers(1, 8))
@settings(max_examples=40)
def test_build_swaths_matches_reference(poly, angle, width, nsub):
    xs, ys, off = pack_rings(poly)
    ax, ay, aoff = pack_rings(poly.buffer(-0.5 * width))
    across = -xs * math.sin(angle) + ys * math.cos(angle)
    centres = np.arange(across.min() + 0.5 * width, across.max(), width)
    same(K.build_swaths(xs, ys, off, ax, ay, aoff, angle, centres, width, nsub),
         R.build_swaths(xs, ys, off, ax, ay, aoff, angle, centres, width, nsub))


def test_lines_through_vertices_are_counted_once():
    # a diamond: the middle line passes exactly through two vertices
    poly = Polygon([(0, -10), (10, 0), (0, 10), (-10, 0)])
    xs, ys, off = pack_rings(poly)
    for k in (K, R):
        line, x0, x1 = k.scan_intervals(xs, ys, off, 0.0, np.array([-10.0, -5.0, 0.0, 5.0, 10.0]))
        # y = -10 touches a vertex only (ignored); y = 10 is outside by the half-open rule
        assert line.tolist() == [1, 2, 3]
        assert np.allclose(x1 - x0, [10.0, 20.0, 10.0])


def test_rectangle_scores():
    poly = Polygon([(0, 0), (100, 0), (100, 30), (0, 30)])
    xs, ys, off = pack_rings(poly)
    pieces, length, lines, stagger = K.angle_scan(xs, ys, off, np.array([0.0, math.pi / 2]), 6.0)
    assert pieces.tolist() == [5, 17] and lines.tolist() == [5, 17]
    assert length[0] == pytest.approx(500.0)
    assert stagger[0] == pytest.approx(0.0, abs=1e-9)
    assert length[1] == pytest.approx(17 * 30.0)


def test_hole_splits_lines():
    poly = Polygon([(0, 0), (100, 0), (100, 100), (0, 100)], [[(40, 40), (60, 40), (60, 60), (40, 60)]])
    xs, ys, off = pack_rings(poly)
    line, x0, x1 = K.scan_intervals(xs, ys, off, 0.0, np.array([50.0, 20.0]))
    assert line.tolist() == [0, 0, 1]
    assert np.allclose(np.column_stack([x0, x1]), [[0, 40], [60, 100], [0, 100]])
