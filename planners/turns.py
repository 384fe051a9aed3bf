"""Turns and transits the machine can drive, and never outside the field or into an obstacle.

Every non-working piece of a plan comes from a :class:`Connector`: the shortest Dubins (forward only) or
Reeds-Shepp (reverse allowed) curve when it stays clear; otherwise the swath ends are pulled back towards
the inner field (the turn gets room in the headland); otherwise the other Dubins words, shortest first
(a bulb that loops into the worked field instead of over the boundary); otherwise the machine travels
along the headland road (the innermost headland pass, or a virtual one when no passes are driven),
joining and leaving it with short curves. The clearance test is independent of how a curve was made: its samples must lie in the
field minus obstacles (and minus a safety margin, when one is set).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from agrifleet.core.plan import SegmentKind
from agrifleet.core.replan import dubins_words as replan_dubins_words

from .curves import sample_curves, shortest, shortest_lengths
from .headlands import HeadlandPass

__all__ = ["Connector", "Piece"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Piece:
    """A drivable stretch: ``(M, 4)`` samples ``(x, y, heading, direction)`` and what it is for."""

    samples: np.ndarray
    kind: SegmentKind

    @property
    def length_m(self) -> float:
        return float(np.hypot(*np.diff(self.samples[:, :2], axis=0).T).sum()) if len(self.samples) > 1 else 0.0


@dataclass(frozen=True, slots=True)
class _Road:
    points: np.ndarray      # (M, 2) closed ring, not repeating the first point
    headings: np.ndarray    # tangent headings in the ring's direction
    cumlen: np.ndarray      # (M + 1,) arc length at each point, last = ring length

    @classmethod
    def from_pass(cls, p: HeadlandPass, reverse: bool) -> "_Road":
        pts = p.points[::-1] if reverse else p.points
        closed = np.vstack([pts, pts[:1]])
        d = np.diff(closed, axis=0)
        seg = np.hypot(d[:, 0], d[:, 1])
        # tangent at a vertex: direction from the previous point to the next one (smooth on arcs)
        ahead = np.roll(pts, -1, axis=0) - np.roll(pts, 1, axis=0)
        headings = np.arctan2(ahead[:, 1], ahead[:, 0])
        return cls(pts, headings, np.concatenate([[0.0], np.cumsum(seg)]))

    @property
    def length_m(self) -> float:
        return float(self.cumlen[-1])

    def pose(self, i: int) -> np.ndarray:
        i %= len(self.points)
        return np.array([self.points[i, 0], self.points[i, 1], self.headings[i]])

    def poses(self, idx: np.ndarray) -> np.ndarray:
        """``(len(idx), 3)`` poses at the point indices ``idx`` (taken modulo the ring)."""
        idx = np.asarray(idx) % len(self.points)
        return np.column_stack([self.points[idx], self.headings[idx]])

    def nearest(self, xy: np.ndarray) -> int:
        return int(np.argmin(np.hypot(self.points[:, 0] - xy[0], self.points[:, 1] - xy[1])))

    def ahead(self, i: int, j: int) -> float:
        """Distance travelled along the ring from point ``i`` forward to point ``j``."""
        d = self.cumlen[j % len(self.points)] - self.cumlen[i % len(self.points)]
        return float(d if d >= 0 else d + self.length_m)

    def stretch(self, i: int, j: int) -> np.ndarray:
        """Samples from point ``i`` forward to point ``j`` (inclusive), as ``(M, 4)``."""
        return self._samples(i, (j - i) % len(self.points))

    def loop(self, i: int) -> np.ndarray:
        """Once around from point ``i`` back to it."""
        return self._samples(i, len(self.points))

    def _samples(self, i: int, count: int) -> np.ndarray:
        idx = (i + np.arange(count + 1)) % len(self.points)
        out = np.empty((len(idx), 4))
        out[:, :2] = self.points[idx]
        out[:, 2] = self.headings[idx]
        out[:, 3] = 1.0
        return out


def pass_loop(ring: HeadlandPass) -> np.ndarray:
    """Samples once round a headland pass in its own direction, from its first point."""
    return _Road.from_pass(ring, False).loop(0)


class Connector:
    """Plans the non-working pieces of one field's path."""

    def __init__(self, field: Polygon, roads: tuple[HeadlandPass, ...], radius_m: float, curve_kind: str,
                 step_m: float, margin_m: float = 0.0) -> None:
        self.radius_m = radius_m
        self.curve_kind = curve_kind
        self.step_m = step_m
        self.clearance = field.buffer(-margin_m) if margin_m > 0 else field.buffer(1e-6)
        shapely.prepare(self.clearance)
        self.roads = [r for p in roads for r in (_Road.from_pass(p, False), _Road.from_pass(p, True))
                      if len(p.points) >= 3]
        self.fallbacks = 0  # connections that found no clear way (reported as boundary violations)

    # --- checks -------------------------------------------------------------------------------------
    def is_clear(self, samples: np.ndarray) -> bool:
        if len(samples) < 2:
            return bool(self.clearance.covers(shapely.points(samples[0, :2]))) if len(samples) else True
        return bool(self.clearance.covers(shapely.linestrings(samples[:, :2])))

    def curve(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return shortest(a, b, self.radius_m, self.curve_kind).sample(self.step_m)

    # --- turns ----------------------------------------------------------------------------------------
    def turn(self, exit_pose: np.ndarray, entry_pose: np.ndarray, exit_slack_m: float = 0.0,
             entry_slack_m: float = 0.0, exit_max_m: float = 0.0, entry_max_m: float = 0.0,
             kind: SegmentKind = SegmentKind.TURN) -> tuple[list[Piece], float, float]:
        """Pieces from the end of one swath to the start of the next.

        ``exit_slack_m``/``entry_slack_m`` are how far the swath ends reach past the part of the swath
        that is inside the inner field across its whole width (a slanted end's extension: pulling it back
        uncovers a corner triangle, never a whole strip); ``exit_max_m``/``entry_max_m`` how far they can
        be pulled back at all. Returns the pieces and the pull-backs used.
        """
        samples = self.curve(exit_pose, entry_pose)
        if self.is_clear(samples):
            return [Piece(samples, kind)], 0.0, 0.0
        # Pulling a slanted end back by a fraction f of its extension leaves f^2 of the corner triangle
        # uncovered: a quarter at most before trying longer curves.
        for frac in (0.25, 0.5):
            found = self._pulled_back(exit_pose, entry_pose, exit_slack_m * frac, entry_slack_m * frac, kind)
            if found is not None:
                return found
        other = self._other_words(exit_pose, entry_pose)
        if other is not None:
            return [Piece(other, kind)], 0.0, 0.0
        # Along the headland road before giving up ground: a swath that ends beside an obstacle's
        # headland has no room to turn there, but the pass round the obstacle takes it to the next one.
        road = self._road_route(exit_pose, entry_pose, kind)
        if road is not None:
            return road, 0.0, 0.0
        # Last resort: end the swaths short of the field's end (a narrow headland that leaves no room to
        # turn and no road) -- a little less coverage, but a plan the machine can drive.
        for extra in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0):
            found = self._pulled_back(exit_pose, entry_pose, min(exit_slack_m + extra * self.radius_m, exit_max_m),
                                      min(entry_slack_m + extra * self.radius_m, entry_max_m), kind)
            if found is not None:
                return found
        return self._unclear(exit_pose, entry_pose, samples, kind), 0.0, 0.0

    def _pulled_back(self, exit_pose: np.ndarray, entry_pose: np.ndarray, exit_back_m: float,
                     entry_back_m: float, kind: SegmentKind) -> tuple[list[Piece], float, float] | None:
        """The curve between the swath ends pulled back by the given distances, if it is clear."""
        if exit_back_m <= 0 and entry_back_m <= 0:
            return None
        samples = self.curve(_back(exit_pose, exit_back_m), _back(entry_pose, -entry_back_m))
        return ([Piece(samples, kind)], exit_back_m, entry_back_m) if self.is_clear(samples) else None

    def _other_words(self, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
        """The shortest clear curve among all six Dubins words (forward-only curves suit any machine)."""
        lengths, params = dubins_words(a, b, self.radius_m)
        ok = np.isfinite(lengths)
        if not ok.any():
            return None
        order = [int(k) for k in np.argsort(lengths) if ok[k]]
        pts, offsets = sample_curves(np.repeat(a[None], len(order), 0), np.array(order), params[order],
                                     self.radius_m, self.step_m, "dubins")
        for i, word in enumerate(order):
            samples = pts[offsets[i]:offsets[i + 1]]
            if np.hypot(*(samples[-1, :2] - b[:2])) > 1e-6:
                continue
            if self.is_clear(samples):
                return samples
        return None

    # --- transits ------------------------------------------------------------------------------------
    def transit(self, a: np.ndarray, b: np.ndarray, kind: SegmentKind = SegmentKind.TRANSIT) -> list[Piece]:
        """Pieces from pose ``a`` to pose ``b``: direct when clear, else along the headland road."""
        direct = self.curve(a, b)
        if self.is_clear(direct):
            return [Piece(direct, kind)]
        other = self._other_words(a, b)
        best = self._road_route(a, b, kind, Piece(other, kind).length_m if other is not None else math.inf)
        if best is None and other is not None:
            best = [Piece(other, kind)]
        if best is not None:
            return best
        return self._unclear(a, b, direct, kind)

    def _unclear(self, a: np.ndarray, b: np.ndarray, direct: np.ndarray, kind: SegmentKind) -> list[Piece]:
        """The direct curve from ``a`` to ``b`` when no clear way exists: counted and logged."""
        self.fallbacks += 1
        logger.warning("no clear connection from (%.1f, %.1f) to (%.1f, %.1f); using the direct curve",
                       a[0], a[1], b[0], b[1])
        return [Piece(direct, kind)]

    def _road_route(self, a: np.ndarray, b: np.ndarray, kind: SegmentKind,
                    shorter_than_m: float = math.inf) -> list[Piece] | None:
        """The shortest clear way from ``a`` to ``b`` along one headland road, if shorter than given."""
        best: list[Piece] | None = None
        best_len = shorter_than_m
        for road in self.roads:
            pieces = self._via_road(road, a, b, kind)
            if pieces is not None:
                total = sum(p.length_m for p in pieces)
                if total < best_len:
                    best, best_len = pieces, total
        return best

    @property
    def _join_spacing(self) -> int:
        """Road points one turning radius apart: join candidates closer than that are alike."""
        return max(1, round(self.radius_m / max(self.step_m, 1e-9)))

    def _join_options(self, road: _Road, i: int, count: int = 8) -> np.ndarray:
        return (i + self._join_spacing * np.arange(count)) % len(road.points)

    def _via_road(self, road: _Road, a: np.ndarray, b: np.ndarray, kind: SegmentKind) -> list[Piece] | None:
        ia, ib = road.nearest(a[:2]), road.nearest(b[:2])
        onto = self._join_options(road, ia)
        off = (ib - (onto - ia)) % len(road.points)          # mirror offsets before the leave point
        on_len, _, _ = shortest_lengths(np.repeat(a[None], len(onto), 0),
                                        road.poses(onto), self.radius_m, self.curve_kind)
        off_len, _, _ = shortest_lengths(road.poses(off),
                                         np.repeat(b[None], len(off), 0), self.radius_m, self.curve_kind)
        combos = sorted((on_len[p] + road.ahead(onto[p], off[q]) + off_len[q], p, q)
                        for p in range(len(onto)) for q in range(len(off)))
        firsts: dict[int, np.ndarray | None] = {}     # each join curve sampled and checked once
        lasts: dict[int, np.ndarray | None] = {}
        for _, p, q in combos:
            j, k = int(onto[p]), int(off[q])
            if j not in firsts:
                curve = self.curve(a, road.pose(j))
                firsts[j] = curve if self.is_clear(curve) else None
            if firsts[j] is None:
                continue
            if k not in lasts:
                curve = self.curve(road.pose(k), b)
                lasts[k] = curve if self.is_clear(curve) else None
            if lasts[k] is None:
                continue
            return [Piece(firsts[j], kind), Piece(road.stretch(j, k), kind), Piece(lasts[k], kind)]
        return None

    # --- headland passes -------------------------------------------------------------------------------
    def onto_pass(self, pose: np.ndarray, ring: HeadlandPass, slack_m: float = 0.0,
                  max_back_m: float = 0.0) -> tuple[list[Piece], Piece, float]:
        """Join the pass ``ring`` from ``pose`` and drive it once round.

        ``pose`` ends a swath whose slanted extension is ``slack_m`` long (see :meth:`turn`) and that may
        be pulled back by ``max_back_m`` at all: a forward-only machine whose last swath runs into an acute
        corner cannot turn out of it. Returns the connection pieces, the pass, and the pull-back used.
        """
        roads = (_Road.from_pass(ring, False), _Road.from_pass(ring, True))
        steps = [0.0] + [f * slack_m for f in (0.25, 0.5)] + [slack_m + k * self.radius_m
                                                              for k in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)]
        for back in dict.fromkeys(min(b, max_back_m) for b in steps if b >= 0.0):
            found = self._clear_join(_back(pose, back), roads)
            if found is not None:
                return found[0], found[1], back
        road = roads[0]
        j = road.nearest(pose[:2])
        return self.transit(pose, road.pose(j)), Piece(road.loop(j), SegmentKind.HEADLAND), 0.0

    def _clear_join(self, pose: np.ndarray, roads: tuple[_Road, _Road]) -> tuple[list[Piece], Piece] | None:
        """The shortest clear curve from ``pose`` onto a pass, given as its ``roads`` both ways round,
        joined anywhere (the points ahead of the nearest one first, then the rest one radius apart)."""
        near_groups, rest_groups = [], []
        for road in roads:
            n = len(road.points)
            i = road.nearest(pose[:2])
            near = self._join_options(road, i)
            rest = np.setdiff1d((i + np.arange(0, n, self._join_spacing)) % n, near)
            for options, groups in ((near, near_groups), (rest, rest_groups)):
                lengths, _, _ = shortest_lengths(np.repeat(pose[None], len(options), 0),
                                                 road.poses(options), self.radius_m,
                                                 self.curve_kind)
                groups.append((road, options, lengths))
        for groups in (near_groups, rest_groups):
            ranked = sorted((float(length), k, int(j)) for k, (_, options, lengths) in enumerate(groups)
                            for j, length in zip(options, lengths))
            for _, k, j in ranked:
                road = groups[k][0]
                join = self.curve(pose, road.pose(j))
                if self.is_clear(join):
                    return [Piece(join, SegmentKind.TRANSIT)], Piece(road.loop(j), SegmentKind.HEADLAND)
        return None


_WORD_ROWS = ("LSL", "LSR", "RSL", "RSR", "RLR", "LRL")


def dubins_words(a: np.ndarray, b: np.ndarray, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Lengths (m, ``inf`` when a word has no solution) and segment lengths of all six Dubins words
    LSL, LSR, RSL, RSR, RLR, LRL from pose ``a`` to pose ``b``: :func:`agrifleet.core.replan.dubins_words`
    as one row per word."""
    lengths = np.full(6, np.inf)
    params = np.zeros((6, 3))
    for word, segments in replan_dubins_words(tuple(a[:3]), tuple(b[:3]), radius_m):
        k = _WORD_ROWS.index(word)
        params[k] = segments
        lengths[k] = sum(segments)
    return lengths, params


def _back(pose: np.ndarray, distance_m: float) -> np.ndarray:
    """``pose`` moved ``distance_m`` backwards along its heading."""
    out = pose.astype(float).copy()
    out[0] -= distance_m * math.cos(pose[2])
    out[1] -= distance_m * math.sin(pose[2])
    return out
