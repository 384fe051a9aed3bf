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

_SUBLINE_SPACING_M = 0.5  # scan lines across a strip for the midpoint estimate of what it covers


@dataclass(frozen=True, slots=True)
class Swath:
    """One straight working pass, in the rotated frame of its angle (``along`` is the swath direction)."""

    line: int            # index of the swath line (0 = lowest ``across``)
    across_m: float
    start_m: float       # along-coordinate where the implement strip begins (extended for coverage)
    end_m: float
    core_start_m: float  # where the centre line enters the inner field (retraction limit)
    core_end_m: float
    slant_start_m: float = 0.0  # part of the start extension that only reaches a slanted boundary's corner
    slant_end_m: float = 0.0
    gain_start_m2: float = 0.0  # inner-field area the start extension covers (estimated)
    gain_end_m2: float = 0.0

    @property
    def length_m(self) -> float:
        return self.end_m - self.start_m


@dataclass(frozen=True, slots=True)
class SwathSet:
    angle_rad: float
    width_m: float
    swaths: tuple[Swath, ...]
    covered_m2: float = 0.0   # inner-field area the strips cover (midpoint-rule estimate)

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
    """Per candidate angle: swath pieces, their strip-extended length, and the end stagger (m)."""

    angle_rad: np.ndarray
    n_swaths: np.ndarray
    length_m: np.ndarray
    stagger_m: np.ndarray


def polygons(geom: BaseGeometry) -> list[Polygon]:
    """The non-empty polygons of ``geom`` (a Polygon, MultiPolygon or collection)."""
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if isinstance(geom, MultiPolygon):
        return [g for g in geom.geoms if not g.is_empty]
    return [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon) and not g.is_empty]


def pack_rings(geom: BaseGeometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All rings of a (multi)polygon as kernel input: x, y and ring offsets (rings implicitly closed)."""
    rings = []
    for poly in polygons(geom):
        rings.append(np.asarray(poly.exterior.coords)[:-1, :2])
        rings.extend(np.asarray(r.coords)[:-1, :2] for r in poly.interiors)
    if not rings:
        return np.zeros(0), np.zeros(0), np.zeros(1, dtype=np.int64)
    pts = np.concatenate(rings)
    offsets = np.cumsum([0] + [len(r) for r in rings]).astype(np.int64)
    return np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1]), offsets


def score_angles(inner: BaseGeometry, width_m: float, angles_rad: np.ndarray) -> AngleScore:
    """Swath pieces, extended length and stagger for every candidate angle (one kernel call)."""
    xs, ys, offsets = pack_rings(inner)
    angles = np.ascontiguousarray(angles_rad, dtype=float)
    if len(xs) == 0:
        zeros = np.zeros(len(angles))
        return AngleScore(angles, zeros.astype(np.int64), zeros, zeros)
    pieces, length, _, stagger = kernel("swaths").angle_scan(xs, ys, offsets, angles, float(width_m))
    return AngleScore(angles, pieces, length, stagger)


def _line_offsets(across: np.ndarray, width_m: float, side_slack_m: float, phase: float = 0.0) -> np.ndarray:
    """Lines one width apart over the extent; a last line is left out when the strip it would add is under
    ``side_slack_m``. ``phase`` in [-1, 1] slides the set within its play (0 = centred)."""
    lo, hi = float(across.min()), float(across.max())
    n = max(1, int(math.ceil((hi - lo - side_slack_m) / width_m - 1e-9)))
    play = abs(n * width_m - (hi - lo))
    return lo + 0.5 * ((hi - lo) - (n - 1) * width_m) + 0.5 * phase * play + width_m * np.arange(n)


# Where the lines may sit within the play the width leaves (see _line_offsets): centred, at either end,
# half way; the planners try them all.
PHASES = (0.0, -1.0, 1.0, -0.5, 0.5)


def make_swaths(inner: BaseGeometry, allowed: BaseGeometry, angle_rad: float, width_m: float,
                min_coverage: float = 1.0, phases: tuple[float, ...] = (0.0,)) -> SwathSet:
    """Swaths covering ``inner`` at ``angle_rad``, extended for coverage but kept inside ``allowed``
    (the region where the implement centre keeps the whole implement in the field).

    ``min_coverage`` below 1 lets the plan leave slivers uncovered where covering them costs the most
    driving for the least ground: a last line for a strip narrower than half a width at the sides, and
    the far corners of the strips at slanted ends (each end's extension is shortened by the same
    fraction; the uncovered corner triangle grows with the square of the shortening). Each of ``phases``
    slides the lines within the play the width leaves (see :func:`_line_offsets`); where the lines sit
    decides which slivers the strips leave or graze, so the shortest set that still covers enough wins
    (else the one that covers most).
    """
    xs, ys, offsets = pack_rings(inner)
    if len(xs) == 0:
        return SwathSet(angle_rad, width_m, ())
    k = kernel("swaths")
    across_all = -xs * math.sin(angle_rad) + ys * math.cos(angle_rad)
    area = float(inner.area)
    target = min_coverage * area
    extent = float(across_all.max() - across_all.min())
    side_slack = min(0.5 * width_m, (1.0 - min_coverage) * extent)
    ax, ay, aoff = pack_rings(allowed)
    nsub = max(6, math.ceil(width_m / _SUBLINE_SPACING_M))
    best = None
    for phase in phases:
        for slack in ((side_slack, 0.0) if side_slack > 0 else (0.0,)):
            centres = _line_offsets(across_all, width_m, slack, phase)
            cols = k.build_swaths(xs, ys, offsets, ax, ay, aoff, float(angle_rad), centres, float(width_m), nsub)
            covered = float(cols[9].sum())
            if covered >= target:
                break
        # what may go uncovered: the estimate's surplus over the target, less a margin for its error
        budget = covered - target - 0.1 * (1.0 - min_coverage) * area
        start, end, slant_s, slant_e, spent = _trim_ends(cols, width_m, budget)
        length, kept = float(np.sum(end - start)), covered - spent
        key = (0, length) if kept >= 0.999 * target else (1, -kept)
        if best is None or key < best[0]:
            best = (key, centres, cols, start, end, slant_s, slant_e, kept)
    _, centres, cols, start, end, slant_s, slant_e, kept = best
    line, lo, hi, _, _, _, _, gs, ge = cols[:9]
    swaths = tuple(Swath(int(q), float(centres[q]), float(a), float(b), float(c0), float(c1), float(x), float(y),
                         float(g0), float(g1))
                   for q, a, b, c0, c1, x, y, g0, g1 in zip(line, start, end, lo, hi, slant_s, slant_e, gs, ge))
    return SwathSet(angle_rad, width_m, swaths, kept)


def _trim_ends(cols, width_m: float, budget_m2: float):
    """Spend ``budget_m2`` of uncovered inner field where it saves the most driving.

    End extensions are dropped whole, least area per metre first, while they cover less ground per metre
    than a slanted-corner extension does (``w / 4``): typically a strip that only grazes the field along
    a parallel edge. What budget is left shortens every slanted-end extension by one common fraction; an
    end extended by ``e`` leaves a corner triangle of ``(1 - f)^2 * w * e / 4`` when a fraction ``f`` is
    driven. Returns new start, end, slanted parts, and the area (estimated) given up.
    """
    _, lo, hi, start, end, slant_s, slant_e, gain_s, gain_e = (np.array(c, dtype=float) for c in cols[:9])
    spent = 0.0
    if budget_m2 <= 0.0:
        return start, end, slant_s, slant_e, spent
    ext = np.concatenate([lo - start, end - hi])
    gain = np.concatenate([gain_s, gain_e])
    idx = np.flatnonzero(ext > 1e-6)
    if len(idx):
        idx = idx[np.argsort(gain[idx] / ext[idx], kind="stable")]
        before = np.concatenate([[0.0], np.cumsum(gain[idx])[:-1]])
        fail = (gain[idx] / ext[idx] >= 0.25 * width_m) | (gain[idx] > budget_m2 - before)
        drop = idx[: int(np.argmax(fail)) if fail.any() else len(idx)]
        n = len(lo)
        s_drop, e_drop = drop[drop < n], drop[drop >= n] - n
        start[s_drop], slant_s[s_drop] = lo[s_drop], 0.0
        end[e_drop], slant_e[e_drop] = hi[e_drop], 0.0
        used = float(gain[drop].sum())
        budget_m2 -= used
        spent += used
    total = float(slant_s.sum() + slant_e.sum())
    if budget_m2 <= 0.0 or total <= 0.0:
        return start, end, slant_s, slant_e, spent
    cut = min(1.0, math.sqrt(4.0 * budget_m2 / (width_m * total)))
    spent += cut * cut * width_m * total / 4.0
    return start + cut * slant_s, end - cut * slant_e, (1 - cut) * slant_s, (1 - cut) * slant_e, spent
