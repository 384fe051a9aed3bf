"""Headlands: the passes driven around the field boundary and around every obstacle, and the inner field.

Pass ``k`` (1 = outermost) runs at ``(k - 1/2) * width`` from the boundary. An offset curve has corners the
machine cannot drive (sharp convex corners, and arcs of radius ``d`` around reflex corners and obstacle
corners when ``d`` is smaller than the turning radius), so each pass region is smoothed morphologically --
closed then opened with the turning radius -- which rounds every corner to at least that radius; passes
around obstacles keep at least a turning radius from them. Smoothing may cut a reflex corner of the boundary;
every pass is therefore checked (inside the field, clear of obstacles) and rebuilt further in when it is
not, so the vehicle centre never leaves the field.

The inner field -- what swaths must cover -- is the field shrunk by all headland passes (mitred corners).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LinearRing, Polygon
from shapely.geometry.base import BaseGeometry

from .swaths import polygons

__all__ = ["HeadlandPass", "Headlands", "build_headlands", "ring_points", "smooth_region"]



def _buffer(geom: BaseGeometry, distance_m: float, step_m: float, **kw) -> BaseGeometry:
    """Buffer with arcs fine enough that their chords are no longer than half of ``step_m``."""
    quad_segs = max(8, int(np.ceil(np.pi * abs(distance_m) / step_m)))
    return geom.buffer(distance_m, quad_segs=quad_segs, **kw)


@dataclass(frozen=True, slots=True)
class HeadlandPass:
    """One closed pass: ``(M, 2)`` points (not repeating the first), counter-clockwise around its region
    for boundary passes and clockwise around obstacles, so that the field is always on the left."""

    index: int            # 1 = outermost pass
    points: np.ndarray
    around_obstacle: bool
    obstacle: int = -1    # which hole of the field it goes around (the first, when it encloses several)

    @property
    def length_m(self) -> float:
        closed = np.vstack([self.points, self.points[:1]])
        return float(np.hypot(*np.diff(closed, axis=0).T).sum())


@dataclass(frozen=True, slots=True)
class Headlands:
    passes: tuple[HeadlandPass, ...]
    inner: BaseGeometry         # region the swaths cover (Polygon or MultiPolygon, may be empty)
    road: tuple[HeadlandPass, ...]  # innermost passes: the roads transits follow


def smooth_region(region: BaseGeometry, radius_m: float, step_m: float) -> BaseGeometry:
    """Close then open ``region`` with a disc of ``radius_m``: every corner gets at least that radius."""
    return _open(_close(region, radius_m, step_m), radius_m, step_m)


def ring_points(ring: LinearRing, ccw: bool, step_m: float) -> np.ndarray:
    """Points of a closed ring in the given orientation, densified to at most ``step_m`` apart."""
    # overlays leave millimetre zigzags where arcs of successive buffers meet; a 2 mm simplification
    # removes them without moving the pass
    coords = np.asarray(ring.simplify(0.002, preserve_topology=False).coords)[:, :2]
    if len(coords) < 4:
        coords = np.asarray(ring.coords)[:, :2]
    if coords.shape[0] > 1 and np.allclose(coords[0], coords[-1]):
        coords = coords[:-1]
    x, y = coords[:, 0], coords[:, 1]
    signed = 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))
    if (signed > 0) != ccw:
        coords = coords[::-1]
    closed = np.vstack([coords, coords[:1]])
    seg = np.hypot(*np.diff(closed, axis=0).T)
    keep = seg > 1e-9
    closed = np.vstack([closed[:-1][keep], closed[:1]])
    seg = seg[keep]
    # Arcs already come with chords of about one step; split only long straight edges, evenly, so that
    # no sample sits just beside a vertex (which would fake a sharp bend).
    n = np.where(seg > 1.5 * step_m, np.ceil(seg / step_m), 1).astype(int)
    t = np.concatenate([np.arange(k) / k for k in n])
    idx = np.repeat(np.arange(len(seg)), n)
    return closed[idx] + (closed[idx + 1] - closed[idx]) * t[:, None]


def _open(region: BaseGeometry, radius_m: float, step_m: float) -> BaseGeometry:
    if region.is_empty:
        return region
    return _buffer(_buffer(region, -radius_m, step_m), radius_m, step_m)


def _close(region: BaseGeometry, radius_m: float, step_m: float) -> BaseGeometry:
    if region.is_empty:
        return region
    return _buffer(_buffer(region, radius_m, step_m), -radius_m, step_m)


def _pass_geometry(field: Polygon, offset_m: float, radius_m: float, step_m: float,
                   clearance: Polygon) -> BaseGeometry:
    """Smoothed region of pass centres at ``offset_m`` from the boundary, pushed in until it is clear.

    The boundary part is closed then opened (reflex corners of the field get the turning radius, cutting
    towards the notch by less than the offset in all but very sharp notches). Obstacles are kept at
    ``max(offset, radius)`` and closed, which never cuts into them; the final opening rounds the corners
    where an obstacle region meets the boundary region.
    """
    outer = Polygon(field.exterior)
    holes = [Polygon(h) for h in field.interiors]
    step_out = max(0.25 * radius_m, 0.5)
    # closed first, pushed further in while not clear; unclosed (reflex corners keep the offset's own
    # radius) only when closing cannot be made clear, e.g. in a notch narrower than the turning circle
    for closing, extra in [(True, k * step_out) for k in range(6)] + [(False, k * step_out) for k in range(6)]:
        d = offset_m + extra
        core = _buffer(outer, -d, step_m)
        if closing:
            core = _close(core, radius_m, step_m)
        keep_out = [_close(_buffer(h, max(d, radius_m), step_m), radius_m, step_m) for h in holes]
        region = core.difference(shapely.union_all(keep_out)) if keep_out else core
        if closing:
            region = _close(region, radius_m, step_m)
        region = _open(region, radius_m, step_m)
        if region.is_empty or (clearance.covers(region.boundary) and _smooth(region, radius_m, step_m)):
            return region
    return Polygon()


def _smooth(region: BaseGeometry, radius_m: float, step_m: float) -> bool:
    """No ring bends more at one vertex than an arc of the turning radius does over a few steps (overlays
    of nearly touching regions leave cusps that no smoothing radius removes)."""
    limit = max(math.radians(12.0), 4.0 * step_m / radius_m)
    for poly in polygons(region):
        for ring in [poly.exterior, *poly.interiors]:
            pts = np.asarray(ring.simplify(0.002, preserve_topology=False).coords)[:, :2]
            d = np.diff(pts, axis=0)
            d = d[np.hypot(d[:, 0], d[:, 1]) > 1e-9]
            if len(d) < 3:
                return False
            h = np.arctan2(d[:, 1], d[:, 0])
            turn = np.abs(np.angle(np.exp(1j * np.diff(np.append(h, h[0])))))
            if turn.max() > limit:
                return False
    return True


def _enclosed_hole(ring: Polygon, field: Polygon) -> int:
    for i, hole in enumerate(field.interiors):
        if ring.contains(Polygon(hole).representative_point()):
            return i
    return -1


def build_headlands(field: Polygon, passes: int, width_m: float, radius_m: float, step_m: float,
                    margin_m: float = 0.0) -> Headlands:
    """Headland passes of ``field`` (holes = obstacles) and the inner field left for swaths."""
    clearance = field.buffer(-margin_m) if margin_m > 0 else field.buffer(1e-6)
    shapely.prepare(clearance)
    out: list[HeadlandPass] = []
    innermost: list[HeadlandPass] = []
    for k in range(1, passes + 1):
        region = _pass_geometry(field, (k - 0.5) * width_m, radius_m, step_m, clearance)
        ring_set = []
        for poly in polygons(region):
            ring_set.append(HeadlandPass(k, ring_points(poly.exterior, True, step_m), False))
            for hole in poly.interiors:
                ring_set.append(HeadlandPass(k, ring_points(hole, False, step_m), True,
                                             _enclosed_hole(Polygon(hole), field)))
        out.extend(ring_set)
        if ring_set:
            innermost = ring_set
    if passes > 0:
        inner = field.buffer(-passes * width_m, join_style="mitre", mitre_limit=10.0)
    else:
        # No driven headland: keep a turning band inside the boundary so that turns stay in the field.
        inner = _buffer(field, -(radius_m + 0.5 * width_m + margin_m), step_m)
    road = tuple(innermost)
    if not road:
        region = _pass_geometry(field, max(0.5 * width_m, radius_m), radius_m, step_m, clearance)
        road = tuple(HeadlandPass(0, ring_points(p.exterior, True, step_m), False) for p in polygons(region))
        road += tuple(HeadlandPass(0, ring_points(h, False, step_m), True)
                      for p in polygons(region) for h in p.interiors)
    return Headlands(tuple(out), inner, road)
