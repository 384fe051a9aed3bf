"""Swaths: parallel working passes across the inner field, and the search for the best swath angle.

Swath lines are spaced one working width apart and centred on the inner field's extent, so any slack is
shared by both sides. A swath runs as far as its implement strip still has inner field under it (not just
its centre line): at a slanted boundary the centre line is extended until the trailing corner of the strip
reaches the boundary, which is what keeps coverage near 100 % without an overlapping extra swath. The
extension stops where the implement would leave the field.

The line clipping is the ``swaths`` kernel (scan lines against all rings at once, many angles per call).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from agrifleet.ext import kernel

__all__ = ["Swath", "SwathSet", "AngleScore", "pack_rings", "score_angles", "make_swaths"]


@dataclass(frozen=True, slots=True)
class Swath:
    """One straight working pass, in the rotated frame of its angle (``along`` is the swath direction)."""

    line: int            # index of the swath line (0 = lowest ``across``)
    across_m: float
    start_m: float       # along-coordinate where the implement strip begins (extended for coverage)
    end_m: float
    core_start_m: float  # where the centre line enters the inner field (retraction limit)
    core_end_m: float

    @property
    def length_m(self) -> float:
        return self.end_m - self.start_m


@dataclass(frozen=True, slots=True)
class SwathSet:
    angle_rad: float
    width_m: float
    swaths: tuple[Swath, ...]

    @property
    def direction(self) -> np.ndarray:
        return np.array([math.cos(self.angle_rad), math.sin(self.angle_rad)])

    def to_world(self, along: np.ndarray, across: np.ndarray) -> np.ndarray:
        """Rotated-frame coordinates -> ``(N, 2)`` field coordinates."""
        c, s = math.cos(self.angle_rad), math.sin(self.angle_rad)
        along = np.asarray(along, dtype=float)
        across = np.asarray(across, dtype=float)
        return np.stack([along * c - across * s, along * s + across * c], axis=-1)


@dataclass(frozen=True, slots=True)
class AngleScore:
    angle_rad: np.ndarray
    n_swaths: np.ndarray
    length_m: np.ndarray


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if isinstance(geom, MultiPolygon):
        return [g for g in geom.geoms if not g.is_empty]
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon) and not g.is_empty]


def pack_rings(geom: BaseGeometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All rings of a (multi)polygon as kernel input: x, y and ring offsets (rings implicitly closed)."""
    rings = []
    for poly in _polygons(geom):
        rings.append(np.asarray(poly.exterior.coords)[:-1, :2])
        rings.extend(np.asarray(r.coords)[:-1, :2] for r in poly.interiors)
    if not rings:
        return np.zeros(0), np.zeros(0), np.zeros(1, dtype=np.int64)
    pts = np.concatenate(rings)
    offsets = np.cumsum([0] + [len(r) for r in rings]).astype(np.int64)
    return np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1]), offsets


def score_angles(inner: BaseGeometry, width_m: float, angles_rad: np.ndarray) -> AngleScore:
    """Number and total length of swath pieces for every candidate angle (one kernel call)."""
    xs, ys, offsets = pack_rings(inner)
    angles = np.ascontiguousarray(angles_rad, dtype=float)
    if len(xs) == 0:
        zeros = np.zeros(len(angles))
        return AngleScore(angles, zeros.astype(np.int64), zeros)
    pieces, length, _ = kernel("swaths").angle_scan(xs, ys, offsets, angles, float(width_m))
    return AngleScore(angles, pieces, length)


def _line_offsets(across: np.ndarray, width_m: float) -> np.ndarray:
    lo, hi = float(across.min()), float(across.max())
    n = max(1, int(math.ceil((hi - lo) / width_m - 1e-9)))
    return lo + 0.5 * ((hi - lo) - (n - 1) * width_m) + width_m * np.arange(n)


def make_swaths(inner: BaseGeometry, allowed: BaseGeometry, angle_rad: float, width_m: float) -> SwathSet:
    """Swaths covering ``inner`` at ``angle_rad``, extended for coverage but kept inside ``allowed``
    (the region where the implement centre keeps the whole implement in the field)."""
    xs, ys, offsets = pack_rings(inner)
    if len(xs) == 0:
        return SwathSet(angle_rad, width_m, ())
    k = kernel("swaths")
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    across_all = -xs * s + ys * c
    along_all = xs * c + ys * s
    centres = _line_offsets(across_all, width_m)
    line, a, b = k.scan_intervals(xs, ys, offsets, angle_rad, centres)
    half = 0.5 * width_m * (1.0 - 1e-6)
    edges = np.concatenate([centres - half, centres + half])
    e_line, e_a, e_b = k.scan_intervals(xs, ys, offsets, angle_rad, edges)
    e_line = e_line % len(centres)
    ax, ay, aoff = pack_rings(allowed)
    l_line, l_a, l_b = k.scan_intervals(ax, ay, aoff, angle_rad, centres)

    swaths = []
    for q, (ln, lo, hi) in enumerate(zip(line, a, b)):
        start, end = lo, hi
        # strip edges that overlap the centre piece
        sel = (e_line == ln) & (e_a <= hi) & (e_b >= lo)
        if sel.any():
            start = min(start, float(e_a[sel].min()))
            end = max(end, float(e_b[sel].max()))
        # vertices inside the strip just beyond the piece (a convex tip narrower than the strip)
        in_strip = np.abs(across_all - centres[ln]) < half
        if in_strip.any():
            va = along_all[in_strip]
            near = (va >= start - 2 * width_m) & (va <= end + 2 * width_m)
            if near.any():
                start = min(start, float(va[near].min()))
                end = max(end, float(va[near].max()))
        # never beyond where the implement stays in the field
        room = (l_line == ln) & (l_a <= 0.5 * (lo + hi)) & (l_b >= 0.5 * (lo + hi))
        if room.any():
            j = int(np.argmax(room))
            start = max(start, min(lo, float(l_a[j])))
            end = min(end, max(hi, float(l_b[j])))
        else:
            start, end = lo, hi
        swaths.append(Swath(int(ln), float(centres[ln]), float(start), float(end), float(lo), float(hi)))
    return SwathSet(angle_rad, width_m, tuple(swaths))
