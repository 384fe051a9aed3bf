"""Headland passes: where they run, that they stay clear, and that they can be driven."""
from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import LinearRing, Polygon

from agrifleet.planners.headlands import build_headlands, smooth_region


def _turn_radius(points: np.ndarray, window_m: float = 2.0) -> float:
    """Smallest radius over any ``window_m`` of the closed ring (arcs are polygons of short chords)."""
    closed = np.vstack([points, points[:1]])
    d = np.diff(closed, axis=0)
    seg = np.hypot(d[:, 0], d[:, 1])
    h = np.unwrap(np.arctan2(d[:, 1], d[:, 0]))
    mid = np.cumsum(seg) - 0.5 * seg
    j = np.searchsorted(mid, mid + window_m)
    ok = j < len(mid)
    return float(1.0 / (np.abs(h[j[ok]] - h[ok]) / (mid[j[ok]] - mid[ok])).max())


def test_passes_run_at_half_widths_from_the_boundary():
    field = Polygon([(0, 0), (200, 0), (200, 100), (0, 100)])
    h = build_headlands(field, 2, 6.0, 5.0, 0.5)
    assert [p.index for p in h.passes] == [1, 2]
    for p, offset in zip(h.passes, (3.0, 9.0)):
        ring = LinearRing(p.points)
        # straight stretches sit exactly at the offset; corners are cut to the turning radius
        assert Polygon(ring).bounds == pytest.approx((offset, offset, 200 - offset, 100 - offset), abs=1e-6)
        assert _turn_radius(p.points) >= 5.0 * 0.98
    assert h.inner.bounds == pytest.approx((12, 12, 188, 88))


def test_obstacle_passes_keep_clear_of_the_obstacle():
    pylon = [(90, 40), (96, 40), (96, 46), (90, 46)]
    field = Polygon([(0, 0), (200, 0), (200, 100), (0, 100)], [pylon])
    h = build_headlands(field, 2, 6.0, 5.0, 0.5)
    around = [p for p in h.passes if p.around_obstacle]
    assert len(around) == 2 and all(p.obstacle == 0 for p in around)
    for p in around:
        ring = LinearRing(p.points)
        # at least the pass offset, and never closer than a turning radius around a small obstacle
        assert ring.distance(Polygon(pylon)) >= 5.0 - 0.02   # chords sag inside the arc by millimetres
        assert _turn_radius(p.points) >= 5.0 * 0.98
    # passes around the obstacle go the other way round (field on the left)
    assert LinearRing(around[0].points).is_ccw is False


def test_reflex_corner_is_rounded_but_stays_in_the_field():
    ell = Polygon([(0, 0), (200, 0), (200, 60), (60, 60), (60, 200), (0, 200)])
    h = build_headlands(ell, 1, 4.0, 6.0, 0.5)
    ring = LinearRing(h.passes[0].points)
    assert ell.contains(ring)
    assert _turn_radius(h.passes[0].points) >= 6.0 * 0.98


def test_smoothing_rounds_every_corner():
    square = Polygon([(0, 0), (50, 0), (50, 50), (0, 50)])
    smooth = smooth_region(square, 5.0, 0.5)
    assert smooth.area == pytest.approx(2500 - (4 - np.pi) * 25, rel=1e-3)


def test_no_passes_leaves_a_turning_band_and_a_road():
    field = Polygon([(0, 0), (200, 0), (200, 100), (0, 100)])
    h = build_headlands(field, 0, 6.0, 5.0, 0.5)
    assert h.passes == () and len(h.road) == 1
    assert h.inner.bounds == pytest.approx((8, 8, 192, 92), abs=1e-6)
