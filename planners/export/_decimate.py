"""Decimating a plan's dense path to the waypoints a mission can hold, keeping its shape.

Douglas-Peucker on each stretch between break points (samples where kind, sections, direction, swath or
speed change, which a mission must hit exactly), measured in 3-D so a drone's height profile is kept too.
The distance is to the chord *segment*, not its infinite line, so back-and-forth paths cannot fold onto
themselves. Every dropped sample lies within ``tolerance_m`` of the kept route.
"""
from __future__ import annotations

import numpy as np

__all__ = ["break_points", "decimate", "point_segment_distance"]


def break_points(path: np.ndarray) -> np.ndarray:
    """Indices of samples that start a new stretch (plus the first and the last sample)."""
    n = len(path)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.zeros(n, dtype=bool)
    change[0] = change[-1] = True
    for name in ("kind", "sections", "direction", "swath", "speed"):
        col = path[name]
        change[1:] |= col[1:] != col[:-1]
    return np.flatnonzero(change)


def point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances of points ``(M, D)`` from the segment ``a``-``b``."""
    ab = b - a
    denom = float(ab @ ab)
    if denom == 0.0:
        return np.linalg.norm(p - a, axis=1)
    t = np.clip((p - a) @ ab / denom, 0.0, 1.0)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)


def _douglas_peucker(pts: np.ndarray, tol: float, keep: np.ndarray, lo: int, hi: int) -> None:
    stack = [(lo, hi)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        d = point_segment_distance(pts[a + 1:b], pts[a], pts[b])
        k = int(np.argmax(d))
        if d[k] > tol:
            m = a + 1 + k
            keep[m] = True
            stack.append((a, m))
            stack.append((m, b))


def decimate(path: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Indices of the samples to keep, ascending; break points are always kept."""
    n = len(path)
    if n <= 2:
        return np.arange(n)
    pts = np.column_stack([path["x"], path["y"], path["z"].astype(float)])
    keep = np.zeros(n, dtype=bool)
    bps = break_points(path)
    keep[bps] = True
    for a, b in zip(bps[:-1], bps[1:]):
        _douglas_peucker(pts, tolerance_m, keep, int(a), int(b))
    return np.flatnonzero(keep)
