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
from dataclasses import dataclass, replace

import numpy as np
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from agrifleet.ext import kernel

__all__ = ["Swath", "SwathSet", "AngleScore", "pack_rings", "score_angles", "make_swaths"]

_SUBLINES = 6  # scan lines per strip for the midpoint estimate of what an end extension covers


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
    """Swath pieces, extended length and stagger for every candidate angle (one kernel call)."""
    xs, ys, offsets = pack_rings(inner)
    angles = np.ascontiguousarray(angles_rad, dtype=float)
    if len(xs) == 0:
        zeros = np.zeros(len(angles))
        return AngleScore(angles, zeros.astype(np.int64), zeros, zeros)
    pieces, length, _, stagger = kernel("swaths").angle_scan(xs, ys, offsets, angles, float(width_m))
    return AngleScore(angles, pieces, length, stagger)


def _line_offsets(across: np.ndarray, width_m: float, side_slack_m: float) -> np.ndarray:
    """Centred lines; a last line is left out when the strip it would add is under ``side_slack_m``."""
    lo, hi = float(across.min()), float(across.max())
    n = max(1, int(math.ceil((hi - lo - side_slack_m) / width_m - 1e-9)))
    return lo + 0.5 * ((hi - lo) - (n - 1) * width_m) + width_m * np.arange(n)


def _group_by_room(cores: np.ndarray, rooms: np.ndarray):
    """Pieces of one line grouped by the stretch of line where the implement stays in the field.

    Pieces in the same stretch become one swath (the machine drives straight through the gap, e.g. along
    the headland beside an inlet); pieces in different stretches stay apart (an obstacle between them).
    """
    mids = cores.mean(axis=1)
    owner = np.full(len(cores), -1)
    for k, (r0, r1) in enumerate(rooms):
        owner[(mids >= r0) & (mids <= r1)] = k
    for k in np.unique(owner):
        members = cores[owner == k]
        if k < 0:
            for piece in members:
                yield piece[None, :], None
        else:
            yield members, rooms[k]


def make_swaths(inner: BaseGeometry, allowed: BaseGeometry, angle_rad: float, width_m: float,
                min_coverage: float = 1.0) -> SwathSet:
    """Swaths covering ``inner`` at ``angle_rad``, extended for coverage but kept inside ``allowed``
    (the region where the implement centre keeps the whole implement in the field).

    ``min_coverage`` below 1 lets the plan leave slivers uncovered where covering them costs the most
    driving for the least ground: a last line for a strip narrower than half a width at the sides, and
    the far corners of the strips at slanted ends (each end's extension is shortened by the same
    fraction; the uncovered corner triangle grows with the square of the shortening).
    """
    xs, ys, offsets = pack_rings(inner)
    if len(xs) == 0:
        return SwathSet(angle_rad, width_m, ())
    k = kernel("swaths")
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    across_all = -xs * s + ys * c
    along_all = xs * c + ys * s
    budget = max(0.0, 0.95 * (1.0 - min_coverage) * float(inner.area))  # 5 % kept back: estimates
    extent = float(across_all.max() - across_all.min())
    side_slack = min(0.5 * width_m, budget / max(float(inner.area) / max(extent, 1e-9), 1e-9))
    centres = _line_offsets(across_all, width_m, side_slack)
    uncovered_sides = max(0.0, extent - len(centres) * width_m) * float(inner.area) / max(extent, 1e-9)
    budget -= uncovered_sides
    line, a, b = k.scan_intervals(xs, ys, offsets, angle_rad, centres)
    half = 0.5 * width_m * (1.0 - 1e-6)
    edges = np.concatenate([centres - half, centres + half])
    e_line, e_a, e_b = k.scan_intervals(xs, ys, offsets, angle_rad, edges)
    edge_side = e_line // len(centres)
    e_line = e_line % len(centres)
    ax, ay, aoff = pack_rings(allowed)
    l_line, l_a, l_b = k.scan_intervals(ax, ay, aoff, angle_rad, centres)
    subs = (np.arange(_SUBLINES) + 0.5) / _SUBLINES - 0.5
    s_line, s_a, s_b = k.scan_intervals(xs, ys, offsets, angle_rad,
                                        (centres[:, None] + width_m * subs[None, :]).ravel())
    s_line //= _SUBLINES

    swaths = []
    for ln in np.unique(line):
        on_line = line == ln
        cores = np.column_stack([a[on_line], b[on_line]])
        rooms = np.column_stack([l_a[l_line == ln], l_b[l_line == ln]])
        in_strip = np.abs(across_all - centres[ln]) < half
        edge = np.column_stack([e_a[e_line == ln], e_b[e_line == ln]])
        edge_side_ln = edge_side[e_line == ln]
        for group, room in _group_by_room(cores, rooms):
            lo, hi = float(group[:, 0].min()), float(group[:, 1].max())
            # how far each strip edge reaches beyond the centre piece, per end
            reach = []
            for side in (0, 1):
                ed = edge[edge_side_ln == side]
                hit = np.zeros(len(ed), dtype=bool)
                for g0, g1 in group:
                    hit |= (ed[:, 0] <= g1) & (ed[:, 1] >= g0)
                reach.append((float(ed[hit, 0].min()) if hit.any() else lo,
                              float(ed[hit, 1].max()) if hit.any() else hi))
            start = min(lo, reach[0][0], reach[1][0])
            end = max(hi, reach[0][1], reach[1][1])
            # vertices inside the strip just beyond the ends (a convex tip narrower than the strip)
            va = along_all[in_strip]
            near = (va >= start - 2 * width_m) & (va <= end + 2 * width_m)
            tip_start = tip_end = False
            if near.any():
                tip_start, tip_end = float(va[near].min()) < start, float(va[near].max()) > end
                start, end = min(start, float(va[near].min())), max(end, float(va[near].max()))
            if room is not None:  # never where the implement would leave the field
                start, end = max(start, min(lo, room[0])), min(end, max(hi, room[1]))
            else:
                start, end = lo, hi
            slant_s = 0.0 if tip_start else _slant(lo, reach[0][0], reach[1][0], lo - start)
            slant_e = 0.0 if tip_end else _slant(hi, reach[0][1], reach[1][1], end - hi)
            sub = s_line == ln
            sa, sb = s_a[sub], s_b[sub]
            strip = width_m / _SUBLINES
            gain_s = strip * float(np.clip(np.minimum(sb, lo) - np.maximum(sa, start), 0, None).sum())
            gain_e = strip * float(np.clip(np.minimum(sb, end) - np.maximum(sa, hi), 0, None).sum())
            swaths.append(Swath(int(ln), float(centres[ln]), start, end, lo, hi, slant_s, slant_e,
                                gain_s, gain_e))
    return SwathSet(angle_rad, width_m, tuple(_trim_ends(swaths, width_m, budget)))


def _slant(centre: float, edge_a: float, edge_b: float, extension: float) -> float:
    """The part of an end extension that reaches a straight slanted boundary (centre halfway between the
    two strip edges); a step or a notch in the boundary is not trimmable."""
    if extension <= 0.0:
        return 0.0
    if abs(0.5 * (edge_a + edge_b) - centre) > 0.05 * abs(edge_a - edge_b) + 1e-6:
        return 0.0
    return min(extension, 0.5 * abs(edge_a - edge_b))


def _trim_ends(swaths: list[Swath], width_m: float, budget_m2: float) -> list[Swath]:
    """Spend ``budget_m2`` of uncovered inner field where it saves the most driving.

    End extensions are dropped whole, least area per metre first, while they cover less ground per metre
    than a slanted-corner extension does (``w / 4``): typically a strip that only grazes the field along
    a parallel edge. What budget is left shortens every slanted-end extension by one common fraction; an
    end extended by ``e`` leaves a corner triangle of ``(1 - f)^2 * w * e / 4`` when a fraction ``f`` is
    driven.
    """
    out = list(swaths)
    if budget_m2 <= 0.0:
        return out
    ends = []
    for i, s in enumerate(out):
        for side, ext, gain in ((0, s.core_start_m - s.start_m, s.gain_start_m2),
                                (1, s.end_m - s.core_end_m, s.gain_end_m2)):
            if ext > 1e-6:
                ends.append((gain / ext, gain, i, side))
    for density, gain, i, side in sorted(ends):
        if density >= 0.25 * width_m or gain > budget_m2:
            break
        s = out[i]
        out[i] = (replace(s, start_m=s.core_start_m, slant_start_m=0.0, gain_start_m2=0.0) if side == 0
                  else replace(s, end_m=s.core_end_m, slant_end_m=0.0, gain_end_m2=0.0))
        budget_m2 -= gain
    total = sum(s.slant_start_m + s.slant_end_m for s in out)
    if budget_m2 <= 0.0 or total <= 0.0:
        return out
    cut = min(1.0, math.sqrt(4.0 * budget_m2 / (width_m * total)))
    return [replace(s, start_m=s.start_m + cut * s.slant_start_m, end_m=s.end_m - cut * s.slant_end_m,
                    slant_start_m=(1 - cut) * s.slant_start_m, slant_end_m=(1 - cut) * s.slant_end_m)
            for s in out]
