"""Straight-leg routes for drones: shortest polylines that stay inside a free region.

A multirotor has no turning radius, so its shortest way round a no-fly polygon is a polyline that bends
only at the reflex corners of the free space (the corners that poke into it: concave corners of the
boundary, convex corners of obstacles). Those corners, pulled in by a clearance, are the nodes of a
visibility graph whose all-pairs shortest distances are computed once (scipy's Dijkstra); a query then only
needs to know which nodes its two end points see. The drone stops at every bend (the on-board guidance treats
sharp corners as stop points), so few bends also means little braking.

Used by the survey planner (moves between cells, around obstacles), by the sortie planner (legs to and from
refill points) and as the survey planner's ``transit`` for the fleet's re-planning.
"""
from __future__ import annotations

import math

import numpy as np
import shapely
from agrifleet.core.errors import PlanError
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.ops import nearest_points

from .swaths import polygons

__all__ = ["FreeSpace"]

_MAX_NODES = 2000


def _reflex_corners(region: BaseGeometry) -> np.ndarray:
    """Vertices of ``region``'s rings where the free space (on the left of CCW exteriors and CW holes) is
    concave: the only places a shortest path bends."""
    out = []
    for poly in polygons(region):
        poly = orient(poly, sign=1.0)
        for ring in (poly.exterior, *poly.interiors):
            pts = np.asarray(ring.coords)[:-1, :2]
            if len(pts) < 3:
                continue
            prev, nxt = np.roll(pts, 1, axis=0), np.roll(pts, -1, axis=0)
            a, b = pts - prev, nxt - pts
            cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
            out.append(pts[cross < -1e-9])
    return np.concatenate(out) if out else np.zeros((0, 2))


class FreeSpace:
    """Where a drone may fly (a polygon or multipolygon; holes are no-fly areas), with shortest routes.

    ``clearance_m`` keeps bends that far from the corners they go round; ``simplify_m`` thins curved
    boundaries before their corners become graph nodes.
    """

    def __init__(self, region: BaseGeometry, clearance_m: float = 1.0, simplify_m: float = 0.5) -> None:
        if region.is_empty:
            raise PlanError("drone routing: the free region is empty")
        self.region = region
        self._cover = region.buffer(1e-6)
        shapely.prepare(self._cover)
        inner = region.simplify(simplify_m).buffer(-clearance_m, join_style="mitre", mitre_limit=4.0)
        nodes = _reflex_corners(inner) if not inner.is_empty else np.zeros((0, 2))
        if len(nodes) > _MAX_NODES:  # keep the graph small: thin the corners of very detailed boundaries
            nodes = _reflex_corners(inner.simplify(4.0 * simplify_m))[:_MAX_NODES]
        keep = shapely.covers(self._cover, shapely.points(nodes)) if len(nodes) else np.zeros(0, bool)
        self.nodes = nodes[keep]
        k = len(self.nodes)
        self._dist = np.zeros((k, k))
        self._pred = np.full((k, k), -9999, dtype=np.int32)
        if k:
            i, j = np.triu_indices(k, 1)
            ok = self.clear(self.nodes[i], self.nodes[j]) if len(i) else np.zeros(0, bool)
            w = np.hypot(*(self.nodes[i[ok]] - self.nodes[j[ok]]).T)
            graph = csr_matrix((np.concatenate([w, w]), (np.concatenate([i[ok], j[ok]]),
                                                          np.concatenate([j[ok], i[ok]]))), shape=(k, k))
            self._dist, self._pred = shortest_path(graph, method="D", directed=False,
                                                   return_predecessors=True)

    # --- tests ----------------------------------------------------------------------------------------
    def clear(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per pair: does the straight leg ``a[i] -> b[i]`` stay in the free region."""
        a = np.atleast_2d(np.asarray(a, dtype=float))
        b = np.atleast_2d(np.asarray(b, dtype=float))
        a, b = np.broadcast_arrays(a, b)
        if len(a) == 0:
            return np.zeros(0, dtype=bool)
        same = np.all(np.abs(a - b) < 1e-9, axis=1)
        lines = shapely.linestrings(np.stack([a, b + same[:, None] * 1e-7], axis=1))
        return np.asarray(shapely.covers(self._cover, lines))

    def snap(self, p: np.ndarray) -> np.ndarray:
        """``p`` itself when it is in the region, else the nearest point of the region (a line end a few
        centimetres over the boundary must not make a route impossible)."""
        if self._cover.covers(shapely.points(p)):
            return p
        return np.asarray(nearest_points(self.region, shapely.points(p))[0].coords[0])

    def _sees(self, p: np.ndarray) -> np.ndarray:
        if len(self.nodes) == 0:
            return np.zeros(0, dtype=bool)
        return self.clear(np.repeat(p[None, :], len(self.nodes), 0), self.nodes)

    # --- queries --------------------------------------------------------------------------------------
    def lengths_to(self, points: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Route lengths from every point of ``points`` ``(N, 2)`` to ``goal``; ``inf`` where none exists.

        Straight legs are tested all at once; only the blocked ones go through the graph."""
        pts = np.atleast_2d(np.asarray(points, dtype=float))
        goal = np.asarray(goal, dtype=float)
        out = np.hypot(*(pts - goal).T)
        if len(pts) == 0:
            return out
        blocked = np.flatnonzero(~self.clear(pts, goal[None, :]))
        if len(blocked) == 0:
            return out
        seen_goal = self._sees(goal)
        if not seen_goal.any():
            out[blocked] = math.inf
            return out
        # via[i]: shortest way from node i to the goal through a node the goal sees
        tail = np.hypot(*(self.nodes - goal).T)
        via = np.min(self._dist[:, seen_goal] + tail[seen_goal][None, :], axis=1)
        k = len(self.nodes)
        starts = pts.copy()
        off = np.flatnonzero(~shapely.covers(self._cover, shapely.points(pts[blocked])))
        for i in blocked[off]:
            starts[i] = self.snap(pts[i])
        extra = np.hypot(*(starts - pts).T)
        for lo in range(0, len(blocked), max(1, 200_000 // k)):
            chunk = blocked[lo:lo + max(1, 200_000 // k)]
            p = np.repeat(starts[chunk], k, axis=0)
            q = np.tile(self.nodes, (len(chunk), 1))
            seen = self.clear(p, q).reshape(len(chunk), k)
            legs = np.hypot(p[:, 0] - q[:, 0], p[:, 1] - q[:, 1]).reshape(len(chunk), k)
            out[chunk] = np.min(np.where(seen, legs + via[None, :], math.inf), axis=1) + extra[chunk]
        return out

    def route(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The shortest polyline ``(M, 2)`` from ``a`` to ``b`` inside the region (ends included).

        Raises :class:`PlanError` when no route exists (an end point outside the region, or enclosed)."""
        a = np.asarray(a, dtype=float)[:2]
        b = np.asarray(b, dtype=float)[:2]
        if bool(self.clear(a[None, :], b[None, :])[0]):
            return np.array([a, b])
        a0, b0 = a, b
        a, b = self.snap(a), self.snap(b)
        if bool(self.clear(a[None, :], b[None, :])[0]):
            return _dedupe(np.array([a0, a, b, b0]))
        sa, sb = self._sees(a), self._sees(b)
        if not (sa.any() and sb.any()):
            raise PlanError(f"no drone route from ({a[0]:.1f}, {a[1]:.1f}) to ({b[0]:.1f}, {b[1]:.1f}) "
                            "inside the allowed area")
        ia, ib = np.flatnonzero(sa), np.flatnonzero(sb)
        cost = (np.hypot(*(self.nodes[ia] - a).T)[:, None] + self._dist[np.ix_(ia, ib)]
                + np.hypot(*(self.nodes[ib] - b).T)[None, :])
        p, q = np.unravel_index(int(np.argmin(cost)), cost.shape)
        if not math.isfinite(float(cost[p, q])):
            raise PlanError(f"no drone route from ({a[0]:.1f}, {a[1]:.1f}) to ({b[0]:.1f}, {b[1]:.1f}) "
                            "inside the allowed area")
        i, j = int(ia[p]), int(ib[q])
        chain = [j]
        while chain[-1] != i:
            chain.append(int(self._pred[i, chain[-1]]))
        return _dedupe(np.vstack([a0, a, self.nodes[chain[::-1]], b, b0]))


def _dedupe(pts: np.ndarray) -> np.ndarray:
    keep = np.ones(len(pts), dtype=bool)
    keep[1:] = np.any(np.abs(np.diff(pts, axis=0)) > 1e-9, axis=1)
    return pts[keep]


def densify(path: np.ndarray, step_m: float, where: np.ndarray | None = None) -> np.ndarray:
    """``path`` with samples inserted so that no stretch (of those ``where`` selects, one flag per stretch)
    is longer than ``step_m``. Inserted samples take the attributes of the stretch they split; x, y and z
    are interpolated."""
    n = len(path)
    if n < 2:
        return path.copy()
    seg = np.hypot(np.diff(path["x"]), np.diff(path["y"]))
    k = np.maximum(1, np.ceil(seg / step_m - 1e-9)).astype(np.int64)
    if where is not None:
        k = np.where(where, k, 1)
    if np.all(k == 1):
        return path.copy()
    idx = np.repeat(np.arange(n - 1), k)
    first = np.repeat(np.cumsum(k) - k, k)
    frac = (np.arange(len(idx)) - first) / np.repeat(k, k)
    out = np.concatenate([path[idx], path[-1:]])
    for name in ("x", "y", "z"):
        a, b = path[name][idx].astype(float), path[name][idx + 1].astype(float)
        out[name][:-1] = a + (b - a) * frac
    return out
