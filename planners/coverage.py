"""The coverage pipeline: field -> headlands -> swaths (angle search) -> cells -> route -> turns -> Plan.

:func:`plan_field` plans one field polygon for one machine; :class:`CoveragePlanner` is the plugin the
dispatcher and the command line reach through the ``agrifleet.planners`` entry-point group. The path is
one continuous drivable sequence: swaths cell by cell (turns between them, transits between cells), then
the headland passes around obstacles, then the boundary passes from the inside out.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from shapely.geometry import LineString, Point, Polygon

from agrifleet.core.errors import PlanError
from agrifleet.core.field import Field
from agrifleet.core.plan import PATH_DTYPE, WORKING_KINDS, Plan, SegmentKind, make_path

from .decompose import split_cells
from .headlands import build_headlands
from .metrics import measure
from .params import CoverageParams
from .route import CellRoute, order_cells, route_cell
from .swaths import PHASES, SwathSet, make_swaths, score_angles
from .turns import Connector, Piece, pass_loop

__all__ = ["CoveragePlanner", "plan_field", "choose_angle"]

logger = logging.getLogger(__name__)

_SHORTLIST = 4


@dataclass(frozen=True, slots=True)
class _Layout:
    swath_set: SwathSet
    routes: list[CellRoute]
    estimate_m: float


def choose_angle(inner: Any, allowed: Any, clearance: Any, params: CoverageParams) -> _Layout:
    """Best swath layout: a fixed angle, or the search over ``[0, 180)`` under ``params.objective``.

    Every angle is scored by the swath kernel (piece count and length); for ``length`` the few best by
    an estimate are then routed with real turn costs and the cheapest route wins.
    """
    if params.angle_deg is not None:
        return _layout(inner, allowed, clearance, math.radians(params.angle_deg % 180.0), params)
    angles = np.radians(np.arange(0.0, 180.0, params.angle_step_deg))
    score = score_angles(inner, params.width_m, angles)
    if params.objective == "swaths":
        order = np.lexsort((score.length_m, score.n_swaths))
        return _layout(inner, allowed, clearance, float(angles[order[0]]), params)
    w, r = params.width_m, params.turn_radius_m
    skip = max(1, math.ceil(2.0 * r / w - 1e-9))
    u_turn = math.pi * r + max(0.0, skip * w - 2.0 * r)
    estimate = score.length_m + u_turn * np.maximum(score.n_swaths - 1, 0) + skip * score.stagger_m
    best = [float(a) for a in angles[np.argsort(estimate, kind="stable")[:_SHORTLIST]]]
    shortlist = best + [a for a in _distinct_minima(angles, estimate, _SHORTLIST) if a not in best]
    layouts = [_layout(inner, allowed, clearance, a, params) for a in shortlist]
    return min(layouts, key=lambda lay: lay.estimate_m)


def _distinct_minima(angles: np.ndarray, cost: np.ndarray, count: int) -> list[float]:
    """The ``count`` cheapest angles that are local minima (neighbours of a pick are skipped)."""
    picked: list[float] = []
    for k in np.argsort(cost, kind="stable"):
        a = float(angles[k])
        if all(abs(math.remainder(a - p, math.pi)) > math.radians(2.5) for p in picked):
            picked.append(a)
        if len(picked) == count:
            break
    return picked


def _layout(inner: Any, allowed: Any, clearance: Any, angle: float, params: CoverageParams) -> _Layout:
    swath_set = make_swaths(inner, allowed, angle, params.width_m, params.min_coverage, PHASES)
    cells = split_cells(swath_set, clearance)
    kind = params.turns
    options = [route_cell(swath_set, c, params.turn_radius_m, kind) for c in cells]
    routes = order_cells(options)
    estimate = sum(r.turn_cost_m + r.cell.length_m for r in routes)
    estimate += sum(float(np.hypot(*(b.entry[:2] - a.exit[:2]))) for a, b in zip(routes, routes[1:]))
    return _Layout(swath_set, routes, estimate)


class _PathBuilder:
    """Collects pieces into one path array; consecutive pieces share their joining sample."""

    def __init__(self, params: CoverageParams) -> None:
        self.params = params
        self.chunks: list[np.ndarray] = []

    def add(self, samples: np.ndarray, kind: SegmentKind, swath: int = -1) -> None:
        if len(samples) == 0:
            return
        p = self.params
        working = kind in WORKING_KINDS
        speed = p.work_speed_mps if working else (p.turn_speed_mps if kind == SegmentKind.TURN
                                                  else p.transit_speed_mps)
        out = np.zeros(len(samples), dtype=PATH_DTYPE)
        out["x"], out["y"], out["heading"] = samples[:, 0], samples[:, 1], samples[:, 2]
        out["direction"] = np.where(samples[:, 3] < 0, -1, 1)
        out["z"] = p.z_m
        out["speed"] = speed
        out["kind"] = int(kind)
        out["sections"] = p.all_sections if working else 0
        out["swath"] = swath
        if self.chunks:
            self.chunks[-1] = self.chunks[-1][:-1]   # the joining sample takes the new stretch's attributes
        self.chunks.append(out)

    def add_pieces(self, pieces: Sequence[Piece]) -> None:
        for piece in pieces:
            self.add(piece.samples, piece.kind)

    def path(self) -> np.ndarray:
        if not self.chunks:
            return np.zeros(0, dtype=PATH_DTYPE)
        return _tidy_joins(np.concatenate(self.chunks))


def _drop_slivers(path: np.ndarray) -> np.ndarray:
    """Drop a sample a millimetre short of the next one in the same direction: a curve's last step is
    rarely a whole sample step, and the sliver only adds heading noise."""
    step = np.hypot(np.diff(path["x"]), np.diff(path["y"]))
    drop = np.append((step < 1e-3) & (path["direction"][1:] == path["direction"][:-1]), False)
    drop[0] = False
    return path[~drop]


def _tidy_joins(path: np.ndarray) -> np.ndarray:
    """Where curves meet: slivers dropped, the two samples of a cusp made to coincide (a sliver across a
    cusp would read as a sideways step), and reversals of no length (a curve's numerically empty last
    segment) removed."""
    path = _drop_slivers(path)
    x, y, way = path["x"], path["y"], path["direction"]
    step = np.hypot(np.diff(x), np.diff(y))
    for i in np.flatnonzero((step < 1e-3) & (way[1:] != way[:-1]))[::-1]:   # backwards: chains close up
        x[i], y[i] = x[i + 1], y[i + 1]
    step = np.hypot(np.diff(x), np.diff(y))
    empty = np.zeros(len(path), dtype=bool)
    empty[1:-1] = (step[1:] == 0.0) & (step[:-1] == 0.0) & (way[1:-1] != way[2:]) & (way[:-2] == way[2:])
    return _drop_slivers(path[~empty])


_SWATH_SAMPLE_M = 10.0  # progress, pause and resume work sample by sample: a broken pass resumes mid-way


def _swath_samples(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    heading = math.atan2(b[1] - a[1], b[0] - a[0])
    n = max(1, math.ceil(float(np.hypot(*(b - a))) / _SWATH_SAMPLE_M))
    t = np.linspace(0.0, 1.0, n + 1)[:, None]
    xy = a + (b - a) * t
    return np.column_stack([xy, np.full(n + 1, heading), np.ones(n + 1)])


@dataclass(frozen=True, slots=True)
class _OpenSwath:
    """The last swath of the cells, left open until the way on from its end is known."""

    start: np.ndarray       # (x, y)
    end: np.ndarray         # (x, y)
    heading: float
    swath_id: int
    slack_m: float          # its end's slanted extension (see Connector.turn)

    @property
    def end_pose(self) -> np.ndarray:
        return np.array([self.end[0], self.end[1], self.heading])

    @property
    def length_m(self) -> float:
        return float(np.hypot(*(self.end - self.start)))

    def close(self, build: _PathBuilder, back_m: float = 0.0) -> None:
        end = self.end - back_m * np.array([math.cos(self.heading), math.sin(self.heading)])
        build.add(_swath_samples(self.start, end), SegmentKind.SWATH, self.swath_id)


def _drive_cells(routes: list[CellRoute], swath_set: SwathSet, conn: Connector, build: _PathBuilder,
                 first_swath_id: int) -> tuple[_OpenSwath | None, int]:
    """Swaths of every cell with the turns and transits between them; the last swath is left open."""
    angle = swath_set.angle_rad
    swath_id = first_swath_id
    pending: _OpenSwath | None = None
    for route in routes:
        first_in_cell = True
        for idx, d in zip(route.order, route.directions):
            s = route.cell.swaths[idx]
            a = swath_set.to_world(np.array(s.start_m), np.array(s.across_m))
            b = swath_set.to_world(np.array(s.end_m), np.array(s.across_m))
            start, end = (a, b) if d > 0 else (b, a)
            heading = angle if d > 0 else angle + math.pi
            start_slack = (s.core_start_m - s.start_m) if d > 0 else (s.end_m - s.core_end_m)
            end_slack = (s.end_m - s.core_end_m) if d > 0 else (s.core_start_m - s.start_m)
            if pending is not None:
                entry_pose = np.array([start[0], start[1], heading])
                pieces, cut_a, cut_b = conn.turn(
                    pending.end_pose, entry_pose, max(0.0, pending.slack_m), max(0.0, start_slack),
                    0.5 * pending.length_m, 0.5 * float(np.hypot(*(end - start))),
                    SegmentKind.TRANSIT if first_in_cell else SegmentKind.TURN)
                pending.close(build, cut_a)
                build.add_pieces(pieces)
                start = start + cut_b * np.array([math.cos(heading), math.sin(heading)])
            pending = _OpenSwath(start, end, heading, swath_id, end_slack)
            swath_id += 1
            first_in_cell = False
    return pending, swath_id


def headland_passes_needed(params: CoverageParams) -> int:
    """The headland passes to drive: as asked, or more when that band is too narrow to turn in.

    A U-turn reaches a turning radius beyond the swath end, with half the implement beside it; a headland
    narrower than that would put turns over the boundary or pull the swaths back short of it (no passes at all keeps a bare turning band
    inside the field instead, see :func:`~agrifleet.planners.headlands.build_headlands`).
    """
    asked = params.headland_passes
    if asked == 0:
        return 0
    # a quarter radius to spare: ends at a slanted boundary and skip-row turns reach a little further
    need = math.ceil((1.25 * params.turn_radius_m + 0.5 * params.width_m + params.boundary_margin_m)
                     / params.width_m - 1e-9)
    if need > asked:
        logger.warning("%d headland pass(es) of %.1f m leave no room for a %.1f m turning radius; driving %d",
                       asked, params.width_m, params.turn_radius_m, need)
    return max(asked, need)


def plan_polygon(boundary: Polygon, params: CoverageParams) -> tuple[np.ndarray, dict[str, Any]]:
    """Plan one polygon (holes = obstacles): the path array and planner facts for ``Plan.meta``."""
    w, r = params.width_m, params.turn_radius_m
    margin = params.boundary_margin_m
    passes = headland_passes_needed(params)
    heads = build_headlands(boundary, passes, w, r, params.sample_step_m, margin)
    conn = Connector(boundary, heads.road, r, params.turns, params.sample_step_m, margin)
    allowed = boundary.buffer(-(0.5 * w + margin))
    build = _PathBuilder(params)
    layout = None
    last_swath = None
    swath_id = 0
    if not heads.inner.is_empty and not allowed.is_empty:
        layout = choose_angle(heads.inner, allowed, conn.clearance, params)
        last_swath, swath_id = _drive_cells(layout.routes, layout.swath_set, conn, build, 0)
    pose = last_swath.end_pose if last_swath is not None else None
    headland_transit = 0.0
    for ring in _pass_order(heads.passes, pose):
        if pose is None:
            build.add(pass_loop(ring), SegmentKind.HEADLAND, swath_id)
        else:
            if last_swath is not None:
                joins, loop, back = conn.onto_pass(pose, ring, max(0.0, last_swath.slack_m),
                                                   0.5 * last_swath.length_m)
                last_swath.close(build, back)
                last_swath = None
            else:
                joins, loop, _ = conn.onto_pass(pose, ring)
            build.add_pieces(joins)
            headland_transit += sum(p.length_m for p in joins)
            build.add(loop.samples, SegmentKind.HEADLAND, swath_id)
        last = build.chunks[-1][-1]
        pose = np.array([last["x"], last["y"], last["heading"]])
        swath_id += 1
    if last_swath is not None:      # no headland passes: the plan ends with the last swath
        last_swath.close(build)
    path = build.path()
    if len(path) < 2:
        raise PlanError("the field is too small for this working width and turning radius")
    meta = {
        "angle_deg": math.degrees(layout.swath_set.angle_rad) if layout else None,
        "n_cells": len(layout.routes) if layout else 0,
        "unclear_connections": conn.fallbacks,
        "headland_transit_m": headland_transit,
        "headland_passes": passes,
    }
    return path, meta


def _pass_order(passes, pose: np.ndarray | None) -> list:
    """Obstacles first (nearest next, each from its outermost pass inwards), then the boundary passes
    from the innermost outwards: every lane change is one width, and the last pass ends at the edge."""
    by_obstacle: dict[int, list] = {}
    for p in passes:
        if p.around_obstacle:
            by_obstacle.setdefault(p.obstacle, []).append(p)
    order = []
    here = pose[:2] if pose is not None else None
    groups = [sorted(g, key=lambda p: -p.index) for g in by_obstacle.values()]
    while groups:
        k = 0 if here is None else min(range(len(groups)),
                                       key=lambda i: float(np.min(np.hypot(*(groups[i][0].points - here).T))))
        nxt = groups.pop(k)
        order.extend(nxt)
        here = nxt[-1].points[0]
    order.extend(sorted((p for p in passes if not p.around_obstacle), key=lambda p: -p.index))
    return order


def plan_field(field: Field, params: CoverageParams, *, implement: str = "", vehicle: str = "",
               with_metrics: bool = True) -> Plan:
    """Plan ``field`` for one machine; the plan carries its metrics and planning time."""
    t0 = time.perf_counter()
    path, meta = plan_polygon(field.boundary, params)
    plan_time = time.perf_counter() - t0
    meta["plan_time_s"] = plan_time
    plan = Plan(path=path, frame=field.frame, boundary=field.boundary, field_name=field.name,
                width_m=params.width_m, turn_radius_m=params.turn_radius_m, implement=implement,
                vehicle=vehicle, params=params.to_dict(), meta=meta)
    if with_metrics:
        plan = plan.with_(metrics=measure(plan, meta["headland_passes"]))
    return plan


class CoveragePlanner:
    """Coverage plans for ground machines: headlands, best-angle swaths, drivable turns."""

    name = "coverage"

    def __init__(self, **defaults: Any) -> None:
        self.defaults = defaults

    def transit(self, boundary: Polygon | None, start_pose: Sequence[float], goal_pose: Sequence[float],
                turn_radius_m: float, speed_mps: float, step_m: float = 0.5) -> np.ndarray:
        """A drivable transit (``PATH_DTYPE``, kind TRANSIT, start to goal inclusive) inside ``boundary``.

        The same connector the plans' own transits come from: the shortest curve when it stays clear, else
        another Dubins word, else along a road kept one turning radius inside the boundary and around its
        obstacles. The fleet manager uses it to bring a vehicle to work re-planned onto it.
        """
        a = np.asarray(start_pose, dtype=float)
        b = np.asarray(goal_pose, dtype=float)
        r = float(turn_radius_m)
        step = min(step_m, r / 4)
        if boundary is None:
            samples = Connector(Polygon(), (), r, "dubins", step).curve(a, b)
            pieces = [Piece(samples, SegmentKind.TRANSIT)]
        else:
            roads = build_headlands(boundary, 0, 2.0 * r, r, step).road
            area = boundary
            for end in (a, b):  # a vehicle in the yard: allow a lane from it to the field and room to turn
                here = Point(end[:2])
                if not boundary.covers(here):
                    gate = boundary.exterior.interpolate(boundary.exterior.project(here))
                    area = area.union(LineString([here, gate]).buffer(2.5 * r)).union(here.buffer(2.5 * r))
            pieces = Connector(area if isinstance(area, Polygon) else boundary, roads, r, "dubins",
                               step).transit(a, b)
        out = [make_path(p.samples[:, :2], p.samples[:, 2], kind=SegmentKind.TRANSIT, speed_mps=speed_mps)
               for p in pieces]
        return np.concatenate([o[:-1] for o in out[:-1]] + [out[-1]])

    def plan(self, fields: Sequence[Field], params: CoverageParams | dict[str, Any], **info: Any) -> list[Plan]:
        if not isinstance(params, CoverageParams):
            params = CoverageParams.from_dict({**self.defaults, **params})
        return [plan_field(f, params, implement=info.get("implement", ""), vehicle=info.get("vehicle", ""))
                for f in fields]
