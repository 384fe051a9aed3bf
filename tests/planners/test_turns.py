"""Connector: turns and transits that stay inside the field and out of obstacles."""
from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import LineString, Polygon

from agrifleet.core.plan import SegmentKind
from agrifleet.planners.headlands import build_headlands
from agrifleet.planners.turns import Connector, dubins_words

FIELD = Polygon([(0, 0), (200, 0), (200, 100), (0, 100)], [[(90, 30), (110, 30), (110, 70), (90, 70)]])


def connector(turns: str = "dubins") -> Connector:
    heads = build_headlands(FIELD, 2, 6.0, 5.0, 0.5)
    return Connector(FIELD, heads.road, 5.0, turns, 0.5)


def test_u_turn_is_a_single_clear_curve():
    conn = connector()
    pieces, cut_a, cut_b = conn.turn(np.array([180.0, 20.0, 0.0]), np.array([180.0, 32.0, math.pi]))
    assert len(pieces) == 1 and pieces[0].kind == SegmentKind.TURN and (cut_a, cut_b) == (0.0, 0.0)
    assert pieces[0].length_m == pytest.approx(math.pi * 5 + 2, rel=1e-3)


def test_turn_that_would_leave_the_field_pulls_the_swath_ends_back():
    conn = connector()
    pieces, cut_a, cut_b = conn.turn(np.array([197.0, 20.0, 0.0]), np.array([197.0, 32.0, math.pi]), 6.0, 6.0,
                                     50.0, 50.0)
    assert cut_a > 0 and cut_b > 0
    assert all(conn.is_clear(p.samples) for p in pieces)


def test_transit_across_an_obstacle_goes_around_it():
    conn = connector()
    a, b = np.array([60.0, 50.0, 0.0]), np.array([140.0, 50.0, 0.0])
    assert not conn.is_clear(conn.curve(a, b))
    pieces = conn.transit(a, b)
    line = LineString(np.vstack([p.samples[:, :2] for p in pieces]))
    assert FIELD.buffer(1e-6).covers(line)
    assert np.allclose(pieces[-1].samples[-1, :2], b[:2]) and conn.fallbacks == 0


def test_dubins_words_agree_with_the_shortest_curve():
    from agrifleet.planners.curves import shortest_lengths
    rng = np.random.default_rng(3)
    for _ in range(200):
        a = np.array([*rng.uniform(-30, 30, 2), rng.uniform(-math.pi, math.pi)])
        b = np.array([*rng.uniform(-30, 30, 2), rng.uniform(-math.pi, math.pi)])
        lengths, _ = dubins_words(a, b, 4.0)
        assert lengths.min() == pytest.approx(shortest_lengths(a[None], b[None], 4.0)[0][0], rel=1e-9)
