"""Route: swath orders inside a cell, and the order of the cells."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import Polygon

from agrifleet.planners.decompose import split_cells
from agrifleet.planners.route import candidate_orders, lands_order, order_cells, route_cell
from agrifleet.planners.swaths import make_swaths


@given(st.integers(1, 60), st.integers(1, 5), st.integers(0, 20))
def test_lands_orders_visit_every_line_once(n, skip, block):
    order = lands_order(n, skip, block or None)
    assert sorted(order) == list(range(n))


def test_lands_order_skips_enough_lines_in_blocks():
    order = lands_order(15, 2, 5)
    jumps = np.abs(np.diff(order))
    assert jumps.min() >= 2 and jumps.max() <= 3


def test_candidates_include_boustrophedon_and_mirrors():
    cands = candidate_orders(10, 2)
    assert list(range(10)) in cands and list(range(9, -1, -1)) in cands
    assert all(sorted(c) == list(range(10)) for c in cands)


def _rect_cell(width_m: float):
    inner = Polygon([(0, 0), (300, 0), (300, 120), (0, 120)])
    ss = make_swaths(inner, inner.buffer(20), 0.0, width_m)
    return ss, split_cells(ss, inner.buffer(20))


def test_route_cell_prefers_skipping_when_the_turning_circle_is_wide():
    ss, cells = _rect_cell(4.0)
    routes = route_cell(ss, cells[0], 6.0, "dubins")
    best = routes[0]
    assert min(np.abs(np.diff(best.order))) >= 2           # 2 r = 12 m > 4 m: no adjacent lines
    assert best.turn_cost_m / (len(best.order) - 1) < math.pi * 6 + 5
    assert all(d1 == -d0 for d0, d1 in zip(best.directions, best.directions[1:]))


def test_route_cell_uses_adjacent_lines_when_the_implement_is_wide():
    ss, cells = _rect_cell(12.0)
    best = route_cell(ss, cells[0], 5.0, "dubins")[0]
    assert list(best.order) in (list(range(10)), list(range(9, -1, -1)))


def test_cells_chain_with_short_hops():
    u = Polygon([(0, 0), (300, 0), (300, 250), (190, 250), (190, 60), (110, 60), (110, 250), (0, 250)])
    ss = make_swaths(u, u.buffer(-3), 0.0, 6.0)
    cells = split_cells(ss, u.buffer(1e-6))
    assert len(cells) == 3
    chain = order_cells([route_cell(ss, c, 5.0, "dubins") for c in cells])
    hops = [float(np.hypot(*(b.entry[:2] - a.exit[:2]))) for a, b in zip(chain, chain[1:])]
    assert len(chain) == 3 and max(hops) < 200
