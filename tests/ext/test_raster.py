"""The coverage raster kernel against its numpy reference, and both against shapely."""
from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from agrifleet.ext import kernel
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Polygon

pytestmark = pytest.mark.kernels

KERNEL = kernel("raster")
REF = kernel("raster", reference=True)

coord = st.floats(-20.0, 20.0, allow_nan=False, allow_infinity=False)


def star_polygon(rng: np.random.Generator, n: int, cx: float, cy: float, r: float) -> np.ndarray:
    ang = np.sort(rng.uniform(0, 2 * math.pi, n))
    rad = rng.uniform(0.2 * r, r, n)
    return np.column_stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)])


def ring_edges(pts: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.column_stack([pts, np.roll(pts, -1, axis=0)]))


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 40), cell=st.sampled_from([0.1, 0.25, 0.5, 1.0]),
       x0=coord, y0=coord, hole=st.booleans())
def test_fill_polygon_matches_the_reference_and_shapely(seed, n, cell, x0, y0, hole):
    rng = np.random.default_rng(seed)
    outer = star_polygon(rng, n, 0.0, 0.0, 12.0)
    edges = ring_edges(outer)
    poly = Polygon(outer)
    if hole:
        inner = star_polygon(rng, 5, 0.0, 0.0, 2.0)
        edges = np.ascontiguousarray(np.concatenate([edges, ring_edges(inner)]))
        poly = Polygon(outer, [inner]) if Polygon(outer).contains(Polygon(inner)) else poly
    shape = (int(rng.integers(1, 80)), int(rng.integers(1, 80)))
    a = np.zeros(shape, np.uint8)
    b = np.zeros(shape, np.uint8)
    x0, y0 = x0 - 20, y0 - 20
    na = KERNEL.fill_polygon(a, edges, x0, y0, cell, 1)
    nb = REF.fill_polygon(b, edges, x0, y0, cell, 1)
    assert na == nb == int(a.sum())
    assert np.array_equal(a, b)
    if not hole and poly.is_valid:
        jj, ii = np.mgrid[0:shape[0], 0:shape[1]]
        inside = shapely.contains_xy(poly, x0 + (ii + 0.5) * cell, y0 + (jj + 0.5) * cell)
        centres = shapely.points(x0 + (ii + 0.5) * cell, y0 + (jj + 0.5) * cell)
        touching = shapely.dwithin(poly.exterior, centres, 1e-9)
        assert np.array_equal(a.astype(bool) | touching, inside | touching)


@given(seed=st.integers(0, 2**32 - 1), nq=st.integers(0, 30), cell=st.sampled_from([0.1, 0.3, 1.0]),
       runs=st.integers(1, 4))
def test_sweep_quads_matches_the_reference(seed, nq, cell, runs):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 60)), int(rng.integers(1, 60)))
    centres = rng.uniform(-5, 25, (nq, 1, 2))
    quads = np.ascontiguousarray(centres + rng.normal(0, 3, (nq, 4, 2)))  # convex, concave and bow-ties
    run = rng.integers(0, runs, nq).astype(np.int32)
    rate = rng.uniform(0, 300, nq)
    layers = []
    for k in (KERNEL, REF):
        count = np.zeros(shape, np.uint16)
        count[0, 0] = 65535  # saturates, never wraps
        stamp = np.full(shape, -1, np.int32)
        stamp[::3, ::2] = 0  # cells already painted by run 0
        applied = np.zeros(shape, np.float32)
        painted = k.sweep_quads(count, stamp, applied, 0.0, 0.0, cell, quads, run, rate)
        layers.append((painted, count, stamp, applied))
    (pa, ca, sa, aa), (pb, cb, sb, ab) = layers
    assert pa == pb
    assert np.array_equal(ca, cb) and np.array_equal(sa, sb) and np.array_equal(aa, ab)
    assert ca[0, 0] == 65535


def test_one_square_paints_exactly_its_cells_once_per_run():
    for k in (KERNEL, REF):
        count = np.zeros((10, 10), np.uint16)
        stamp = np.full((10, 10), -1, np.int32)
        applied = np.zeros((10, 10), np.float32)
        sq = np.array([[[2.0, 2.0], [6.0, 2.0], [6.0, 5.0], [2.0, 5.0]]])
        twice = np.ascontiguousarray(np.concatenate([sq, sq, sq]))
        n = k.sweep_quads(count, stamp, applied, 0.0, 0.0, 1.0, twice, np.array([1, 1, 2], np.int32),
                          np.array([10.0, 10.0, 5.0]))
        assert n == 24
        assert count.sum() == 24 and set(np.unique(count)) == {0, 2}
        assert count[2:5, 2:6].all() and applied[3, 3] == 15.0
        # off the grid, NaN corners and empty input paint nothing
        far = np.ascontiguousarray(np.array([[[1e300, 0.0], [1e301, 0.0], [1e301, 1e300], [0.0, 1e300]],
                                             [[np.nan, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]]))
        assert k.sweep_quads(count, stamp, applied, 0.0, 0.0, 1.0, far, np.array([3, 3], np.int32),
                             np.ones(2)) == 0
        with pytest.raises(ValueError):
            k.sweep_quads(count, stamp, applied, 0.0, 0.0, 1.0, sq, np.array([1, 2], np.int32), np.ones(1))
