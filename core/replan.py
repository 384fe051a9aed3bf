"""Re-planning geometry: the unfinished rest of a plan cut into pieces, and the way to a piece.

:func:`split_remaining` cuts the work a vehicle left (from its last acknowledged index) at pass boundaries
into pieces balanced by working length; :func:`build_piece` makes one piece a plan of its own that starts
with a transit from where its new vehicle will be. A piece keeps the original plan's own turns between its
passes, so it is as drivable as the plan was.

A transit comes from the planner plugin when it offers ``transit`` (see :func:`transit_path`); otherwise it
is built here: the shortest Dubins path at the plan's turning radius, with a straight run-out from the start
and a straight lead-in to the goal (so a towed implement is in line when the work starts), kept inside the
field boundary; only when nothing curvature-limited fits is it the shortest straight-legged route inside the
boundary (a visibility graph around the obstacles).
"""
from __future__ import annotations

import heapq
import logging
import math
from typing import Any

import numpy as np
import shapely
import shapely.ops
from shapely.geometry import LineString, Point, Polygon

from .errors import PlanError, PluginError
from .plan import PATH_DTYPE, WORKING_KINDS, Plan, SegmentKind, make_path, segment_lengths

__all__ = [
    "build_piece",
    "dubins_words",
    "sample_dubins",
    "split_remaining",
    "transit_path",
    "working_cumulative",
    "working_done_m",
]

logger = logging.getLogger(__name__)

_WORKING = np.array([int(k) for k in WORKING_KINDS], dtype=np.uint8)


def _working_stretches(plan: Plan) -> np.ndarray:
    """Boolean per stretch ``i -> i+1``: does the machine work on it."""
    return np.isin(plan.path["kind"][:-1], _WORKING)


def working_cumulative(plan: Plan) -> np.ndarray:
    """Working length done when sample ``i`` is reached (``len(plan)`` values, metres)."""
    if len(plan) < 2:
        return np.zeros(len(plan))
    work = segment_lengths(plan.path) * _working_stretches(plan)
    return np.concatenate([[0.0], np.cumsum(work)])


def working_done_m(cumulative: np.ndarray, index: int) -> float:
    if index < 0 or len(cumulative) == 0:
        return 0.0
    return float(cumulative[min(index, len(cumulative) - 1)])


def split_remaining(plan: Plan, start: int, parts: int) -> list[tuple[int, int]]:
    """The unfinished work of ``plan`` from sample ``start``, as up to ``parts`` sample ranges ``[a, b)``.

    Ranges begin where a pass begins (or at ``start`` when it falls inside a pass), end on the last sample
    of their last working stretch, and are balanced by working length. Non-working stretches between two
    ranges (the turn from one piece's last pass to the next piece's first) are left out; stretches between
    passes inside a range are the plan's own turns and stay.
    """
    n = len(plan)
    if n < 2 or parts < 1:
        return []
    start = max(0, start)
    working = _working_stretches(plan)
    idx = np.flatnonzero(working[start:]) + start
    if len(idx) == 0:
        return []
    swath = plan.path["swath"][:-1]
    begins = idx[(idx == idx[0]) | ~working[np.maximum(idx - 1, 0)] | (swath[idx] != swath[np.maximum(idx - 1, 0)])]
    cum = working_cumulative(plan)
    done0, total = cum[idx[0]], cum[idx[-1] + 1] - cum[idx[0]]
    cuts = [int(idx[0])]
    for j in range(1, parts):
        target = done0 + total * j / parts
        k = int(begins[np.argmin(np.abs(cum[begins] - target))])
        if k > cuts[-1]:
            cuts.append(k)
    ranges = []
    for a, nxt in zip(cuts, cuts[1:] + [n]):
        inside = idx[(idx >= a) & (idx < nxt)]
        if len(inside):
            ranges.append((a, int(inside[-1]) + 2))
    return ranges


def _visibility_route(boundary: Polygon, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest polyline from ``a`` to ``b`` that stays inside ``boundary`` (obstacles are its holes)."""
    inside = boundary.buffer(1e-6)
    direct = LineString([a, b])
    if inside.covers(direct):
        return np.array([a, b])
    shrunk = boundary.simplify(0.25).buffer(-0.5, join_style="mitre")
    # an end outside the field (a vehicle parked at the gate) first goes to the nearest point inside
    lead = [a] if inside.covers(Point(a)) else [a, _nearest_inside(shrunk, a)]
    tail = [b] if inside.covers(Point(b)) else [_nearest_inside(shrunk, b), b]
    if len(lead) + len(tail) > 2:
        middle = _visibility_route(boundary, lead[-1], tail[0])
        return np.vstack([np.array(lead[:-1]).reshape(-1, 2), middle, np.array(tail[1:]).reshape(-1, 2)])
    rings = [shrunk] if isinstance(shrunk, Polygon) else list(getattr(shrunk, "geoms", []))
    corners = [np.asarray(r.coords)[:-1] for poly in rings if not poly.is_empty
               for r in (poly.exterior, *poly.interiors)]
    if not corners:
        raise PlanError("no transit inside the field boundary: the field is narrower than 1 m")
    nodes = np.vstack([a[None, :], b[None, :], *corners])
    if len(nodes) > 600:
        raise PlanError(f"boundary too detailed for a fallback transit ({len(nodes)} corners); "
                        "the planner plugin should provide transit()")
    i, j = np.triu_indices(len(nodes), k=1)
    lines = shapely.linestrings(np.stack([nodes[i], nodes[j]], axis=1))
    shapely.prepare(inside)
    ok = shapely.covers(inside, lines)
    dist = np.hypot(*(nodes[i] - nodes[j]).T)
    graph: dict[int, list[tuple[int, float]]] = {}
    for u, v, d in zip(i[ok], j[ok], dist[ok]):
        graph.setdefault(int(u), []).append((int(v), float(d)))
        graph.setdefault(int(v), []).append((int(u), float(d)))
    best, prev, heap = {0: 0.0}, {}, [(0.0, 0)]
    while heap:
        d, u = heapq.heappop(heap)
        if u == 1:
            break
        if d > best.get(u, math.inf):
            continue
        for v, w in graph.get(u, ()):
            if d + w < best.get(v, math.inf):
                best[v], prev[v] = d + w, u
                heapq.heappush(heap, (d + w, v))
    if 1 not in best:
        raise PlanError(f"no transit inside the field boundary from {a.round(1).tolist()} to {b.round(1).tolist()}")
    route, u = [1], 1
    while u != 0:
        u = prev[u]
        route.append(u)
    return nodes[route[::-1]]


def _nearest_inside(area: Any, p: np.ndarray) -> np.ndarray:
    if area.is_empty:
        raise PlanError("no transit inside the field boundary: the field is narrower than 1 m")
    q = shapely.ops.nearest_points(area, Point(p))[0]
    return np.array([q.x, q.y])


def _mod2pi(a: float) -> float:
    return a % (2.0 * math.pi)


def dubins_words(start: tuple[float, float, float], goal: tuple[float, float, float],
                 radius_m: float) -> list[tuple[str, tuple[float, float, float]]]:
    """Every feasible Dubins path from pose ``start`` to pose ``goal`` (x, y, heading): word and the three
    segment lengths in metres, shortest first (Shkel and Lumelsky's closed forms)."""
    dx, dy = goal[0] - start[0], goal[1] - start[1]
    d = math.hypot(dx, dy) / radius_m
    phi = math.atan2(dy, dx)
    a, b = _mod2pi(start[2] - phi), _mod2pi(goal[2] - phi)
    sa, sb, ca, cb, cab = math.sin(a), math.sin(b), math.cos(a), math.cos(b), math.cos(a - b)
    out: list[tuple[str, tuple[float, float, float]]] = []
    p2 = 2 + d * d - 2 * cab + 2 * d * (sa - sb)
    if p2 >= 0:
        tmp = math.atan2(cb - ca, d + sa - sb)
        out.append(("LSL", (_mod2pi(tmp - a), math.sqrt(p2), _mod2pi(b - tmp))))
    p2 = 2 + d * d - 2 * cab + 2 * d * (sb - sa)
    if p2 >= 0:
        tmp = math.atan2(ca - cb, d - sa + sb)
        out.append(("RSR", (_mod2pi(a - tmp), math.sqrt(p2), _mod2pi(tmp - b))))
    p2 = -2 + d * d + 2 * cab + 2 * d * (sa + sb)
    if p2 >= 0:
        p = math.sqrt(p2)
        tmp = math.atan2(-ca - cb, d + sa + sb) - math.atan2(-2.0, p)
        out.append(("LSR", (_mod2pi(tmp - a), p, _mod2pi(tmp - b))))
    p2 = -2 + d * d + 2 * cab - 2 * d * (sa + sb)
    if p2 >= 0:
        p = math.sqrt(p2)
        tmp = math.atan2(ca + cb, d - sa - sb) - math.atan2(2.0, p)
        out.append(("RSL", (_mod2pi(a - tmp), p, _mod2pi(b - tmp))))
    tmp = (6.0 - d * d + 2 * cab + 2 * d * (sa - sb)) / 8.0
    if abs(tmp) <= 1:
        p = _mod2pi(2 * math.pi - math.acos(tmp))
        t = _mod2pi(a - math.atan2(ca - cb, d - sa + sb) + p / 2)
        out.append(("RLR", (t, p, _mod2pi(a - b - t + p))))
    tmp = (6.0 - d * d + 2 * cab + 2 * d * (sb - sa)) / 8.0
    if abs(tmp) <= 1:
        p = _mod2pi(2 * math.pi - math.acos(tmp))
        t = _mod2pi(-a - math.atan2(ca - cb, d + sa - sb) + p / 2)
        out.append(("LRL", (t, p, _mod2pi(b - a - t + p))))
    scaled = [(w, (t * radius_m, p * radius_m, q * radius_m)) for w, (t, p, q) in out]
    return sorted(scaled, key=lambda item: sum(item[1]))


def sample_dubins(start: tuple[float, float, float], word: str, lengths: tuple[float, float, float],
                  radius_m: float, step_m: float) -> np.ndarray:
    """``(N, 3)`` poses along a Dubins path, from ``start`` to its end inclusive, about ``step_m`` apart."""
    x, y, h = start
    poses = [(x, y, h)]
    for letter, length in zip(word, lengths):
        n = max(1, int(math.ceil(length / step_m)))
        s = np.arange(1, n + 1) * (length / n)
        if letter == "S":
            xs, ys, hs = x + s * math.cos(h), y + s * math.sin(h), np.full(n, h)
        else:
            k = (1.0 if letter == "L" else -1.0) / radius_m
            hs = h + k * s
            xs, ys = x + (np.sin(hs) - math.sin(h)) / k, y - (np.cos(hs) - math.cos(h)) / k
        poses.extend(zip(xs, ys, hs))
        x, y, h = float(xs[-1]), float(ys[-1]), float(hs[-1])
    return np.array(poses)


def _shortest_transit(area: Polygon | None, s: tuple[float, float, float], g: tuple[float, float, float],
                      r: float, step: float, leads: tuple[float, ...]) -> np.ndarray | None:
    """Shortest "straight on, Dubins, straight in" poses from ``s`` to ``g`` that stay in ``area``; the
    longest straight-in of ``leads`` that fits wins over a shorter path."""
    clearance = None
    if area is not None:                                 # buffered and prepared once for every candidate
        clearance = area.buffer(1e-6)
        shapely.prepare(clearance)
    for lead in leads:                                   # straight in last, to line up a towed implement
        best: np.ndarray | None = None
        b = (g[0] - lead * math.cos(g[2]), g[1] - lead * math.sin(g[2]), g[2])
        tail = _straight(b, lead, step)[1:]
        for run_out in (0.0, r, 2.0 * r, 4.0 * r):      # straight on first, to get room to turn
            head = _straight(s, run_out, step)
            a = tuple(head[-1])
            for word, lengths in dubins_words(a, b, r):
                if best is not None and run_out + sum(lengths) + lead >= _length(best):
                    break
                poses = np.vstack([head, sample_dubins(a, word, lengths, r, step)[1:], tail])
                if _inside(clearance, poses[:, :2]):
                    best = poses
                    break
        if best is not None:
            return best
    return None


def _straight(pose: tuple[float, float, float], length_m: float, step_m: float) -> np.ndarray:
    """Poses from ``pose`` straight ahead for ``length_m`` (the start pose included)."""
    n = max(0, int(math.ceil(length_m / step_m)))
    d = np.arange(0, n + 1) * (length_m / n) if n else np.zeros(1)
    return np.column_stack([pose[0] + d * math.cos(pose[2]), pose[1] + d * math.sin(pose[2]),
                            np.full(len(d), pose[2])])


def _length(poses: np.ndarray) -> float:
    return float(np.hypot(*np.diff(poses[:, :2], axis=0).T).sum())


def _inside(clearance: Any, xy: np.ndarray) -> bool:
    return clearance is None or bool(clearance.covers(LineString(xy) if len(xy) > 1 else Point(xy[0])))


def transit_path(plan: Plan, start: np.ndarray, goal: np.ndarray, speed_mps: float,
                 planner: Any = None, step_m: float = 1.0, lead_in_m: float | None = None) -> np.ndarray:
    """Samples (``PATH_DTYPE``, kind TRANSIT) from pose ``start`` up to, not including, pose ``goal``.

    ``start`` and ``goal`` are path samples. A planner plugin offering
    ``transit(boundary, start_pose, goal_pose, turn_radius_m, speed_mps) -> PATH_DTYPE array`` (poses are
    ``(x, y, heading_rad)``; the result runs from start to goal inclusive and respects the turning radius)
    is asked first. Otherwise: the shortest Dubins path (the plan's turning radius) to a point
    ``lead_in_m`` (default two turning radii) before the goal on its heading, then straight on, so a towed
    implement is in line when the work starts; else the Dubins path straight to the goal; else (an obstacle
    or the boundary in the way) the shortest route inside the boundary, which is not curvature-limited.
    """
    s = (float(start["x"]), float(start["y"]), float(start["heading"]))
    g = (float(goal["x"]), float(goal["y"]), float(goal["heading"]))
    if math.hypot(g[0] - s[0], g[1] - s[1]) < 1e-6:
        return np.zeros(0, dtype=PATH_DTYPE)
    if planner is not None and callable(getattr(planner, "transit", None)):
        path = np.asarray(planner.transit(plan.boundary, s, g, plan.turn_radius_m, speed_mps))
        if path.dtype != PATH_DTYPE or len(path) < 2:
            raise PluginError("planner transit() must return a PATH_DTYPE array of at least 2 samples")
        return path[:-1]
    r = max(plan.turn_radius_m, 0.5)
    step = min(step_m, r / 4)
    leads = (2.0 * r, r, 0.0) if lead_in_m is None else (lead_in_m, 0.0)
    # Inside the boundary if at all possible; else allow room to turn around where the vehicle stands
    # (a tractor that stopped facing the field edge), which leaves the field there by up to 2.5 radii.
    def areas():
        yield plan.boundary
        if plan.boundary is not None:
            yield plan.boundary.union(Point(s[:2]).buffer(2.5 * r))

    for k, area in enumerate(areas()):
        best = _shortest_transit(area, s, g, r, step, leads)
        if best is not None:
            if k > 0:
                logger.warning("transit from %s leaves the field boundary near its start to turn around",
                               np.round(s[:2], 1).tolist())
            return make_path(best[:-1, :2], best[:-1, 2], kind=SegmentKind.TRANSIT, speed_mps=speed_mps)
    logger.warning("no curvature-limited transit inside the boundary from %s to %s; using straight legs",
                   np.round(s[:2], 1).tolist(), np.round(g[:2], 1).tolist())
    a, b = np.array(s[:2]), np.array(g[:2])
    corners = _visibility_route(plan.boundary, a, b) if plan.boundary is not None else np.array([a, b])
    pts = [corners[0][None, :]]
    for p, q in zip(corners[:-1], corners[1:]):
        n = max(1, int(math.ceil(math.hypot(*(q - p)) / step_m)))
        pts.append(p + (q - p) * (np.arange(1, n + 1)[:, None] / n))
    xy = np.vstack(pts)
    return make_path(xy, kind=SegmentKind.TRANSIT, speed_mps=speed_mps)[:-1]


def build_piece(plan: Plan, a: int, b: int, from_sample: np.ndarray | None, speed_mps: float,
                planner: Any = None, source_mission: int = 0) -> Plan:
    """Samples ``[a, b)`` of ``plan`` as a plan of their own, preceded by a transit from ``from_sample``."""
    piece = plan.slice(a, b)
    prefix = np.zeros(0, dtype=PATH_DTYPE)
    if from_sample is not None:
        prefix = transit_path(plan, from_sample, piece.path[0], speed_mps, planner)
    path = np.concatenate([prefix, piece.path])
    meta = dict(plan.meta)
    meta.update({"source_mission": source_mission, "source_range": [a, b], "transit_samples": len(prefix)})
    sorties = tuple(type(s)(s.start + len(prefix), s.stop + len(prefix), s.depot_xy, s.payload_l, s.energy_wh,
                            s.resume_xy) for s in piece.sorties)
    return piece.with_(path=path, sorties=sorties, meta=meta)
