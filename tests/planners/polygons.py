"""Random valid field polygons (with obstacles) for property tests of the planners."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from shapely.geometry import Polygon


def star(rng: np.random.Generator, n: int, radius: float, jitter: float, centre=(0.0, 0.0)) -> np.ndarray:
    ang = np.sort(rng.uniform(0, 2 * math.pi, n))
    ang += np.linspace(0, 0, n)
    r = radius * (1.0 + jitter * rng.uniform(-1, 1, n))
    return np.column_stack([centre[0] + r * np.cos(ang), centre[1] + r * np.sin(ang)])


@st.composite
def fields_with_holes(draw, max_holes: int = 2) -> Polygon:
    """A star-shaped field 150-400 m across with up to ``max_holes`` obstacles well inside it."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    radius = draw(st.floats(80, 200))
    outer = Polygon(star(rng, draw(st.integers(5, 12)), radius, draw(st.floats(0.0, 0.35))))
    if not outer.is_valid:
        outer = outer.convex_hull
    if outer.area < radius * radius:  # angles bunched on one side: use a regular polygon instead
        outer = Polygon(star(np.random.default_rng(seed), 8, radius, 0.0))
        outer = Polygon([(radius * math.cos(a), radius * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 9)[:-1]])
    holes = []
    for _ in range(draw(st.integers(0, max_holes))):
        size = draw(st.floats(6, 30))
        room = outer.buffer(-(size + 40))
        if room.is_empty:
            break
        minx, miny, maxx, maxy = room.bounds
        for _attempt in range(20):
            c = (rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            hole = Polygon(star(rng, int(rng.integers(4, 9)), size, 0.3, c)).convex_hull
            if room.contains(hole.centroid) and all(hole.distance(h) > 30 for h in holes):
                holes.append(hole)
                break
    return Polygon(outer.exterior, [h.exterior for h in holes])
