"""Drone survey and spray plans: lawnmower passes over a field with obstacles, flown at a set height.

The swath width comes from the implement: a sprayer's spray width, or a survey camera's footprint across
track times one minus the side overlap at the flying height, with the ground sample distance reported
(:func:`swath_from_implement`). The passes reuse the coverage planner's stages: the swath kernel scores
every angle and lays the lines out (:func:`~agrifleet.planners.swaths.make_swaths`), cells come from
:func:`~agrifleet.planners.decompose.split_cells` and their order from
:func:`~agrifleet.planners.route.order_cells`. What differs for a multirotor is what a pass costs: it has
no turning radius, but every stop at the end of a line costs braking and speeding up again, so the angle is
chosen for the least flight *time* (lines and turnarounds), not the shortest path.

Turnarounds: ``zero`` stops at the end of a line, moves sideways to the next line and goes on, never
leaving the field (the guidance stops at sharp corners, so the drone stops, yaws and moves); ``arc`` flies
a half circle of half a swath width at the speed its lateral acceleration allows, beyond the line's end
(the arc may leave the field by half a width). Obstacles (the field's holes) are flown around (``avoid``:
lines stop at them and moves between cells go round them) or over with the implement off (``overfly``).
The implement works only over the target area (the field, or a given zone of it such as the wet patch a
partition hands to the drones): over obstacles and outside the target the sections are off.

Terrain following: :func:`follow_terrain` gives every waypoint the height above ground that keeps the
drone at least at its working height under its climb and descent rates, from a height map.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

import numpy as np
import shapely
from agrifleet.core.errors import PlanError
from agrifleet.core.field import Field
from agrifleet.core.plan import PATH_DTYPE, Plan, PlanMetrics, SegmentKind, make_path
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from ._drone_params import SurveyParams, Swathing, survey_params, swath_from_implement
from ._drone_route import FreeSpace
from ._drone_terrain import Terrain, follow_terrain
from .curves import shortest
from .decompose import split_cells
from .metrics import swath_overlap, swept_areas, violations
from .route import CellRoute, order_cells, route_cell
from .swaths import PHASES, SwathSet, make_swaths, score_angles

__all__ = ["SurveyParams", "SurveyPlanner", "Swathing", "Terrain", "follow_terrain", "plan_survey",
           "survey_params", "swath_from_implement"]

_SHORTLIST = 3                           # angles laid out in full after the kernel's scores

# --- planning -----------------------------------------------------------------------------------------

def _polygons(geom: BaseGeometry, min_area_m2: float = 1.0) -> list[Polygon]:
    parts = [geom] if isinstance(geom, Polygon) else list(getattr(geom, "geoms", []))
    return [p for p in parts if isinstance(p, Polygon) and p.area >= min_area_m2]


def _multi(parts: Sequence[Polygon]) -> BaseGeometry:
    return parts[0] if len(parts) == 1 else MultiPolygon(list(parts))


@dataclass(frozen=True, slots=True)
class _Areas:
    work: BaseGeometry      # what the implement must work (target, minus obstacles)
    lines: BaseGeometry     # where the passes run
    flyable: BaseGeometry   # where the drone may fly
    cover: BaseGeometry     # flyable, with a micrometre of tolerance, prepared for tests


def _areas(field: Field, target: BaseGeometry | None, params: SurveyParams) -> _Areas:
    boundary = field.boundary
    fly = boundary if params.obstacles == "avoid" else Polygon(boundary.exterior)
    if params.margin_m > 0:
        fly = fly.buffer(-params.margin_m, join_style="mitre")
    work = boundary if target is None else boundary.intersection(target)
    parts = _polygons(work)
    if not parts or not _polygons(fly):
        raise PlanError(f"field {field.name!r}: nothing to survey (the target area is empty)")
    work = _multi(parts)
    lines = work if params.obstacles == "avoid" else _multi([Polygon(p.exterior) for p in parts])
    inside = _polygons(lines.intersection(fly))   # passes keep the margin
    cover = fly.buffer(1e-6)
    shapely.prepare(cover)
    return _Areas(work, _multi(inside) if inside else lines, fly, cover)


@dataclass(frozen=True, slots=True)
class _Layout:
    swath_set: SwathSet
    routes: list[CellRoute]
    estimate_s: float


def _layout(areas: _Areas, clearance: BaseGeometry, angle: float, params: SurveyParams,
            start_xy: np.ndarray | None) -> _Layout:
    w = params.width_m
    swath_set = make_swaths(areas.lines, areas.flyable, angle, w, params.min_coverage, PHASES)
    if not swath_set.swaths:
        return _Layout(swath_set, [], math.inf)
    cells = split_cells(swath_set, clearance)
    routes = order_cells([route_cell(swath_set, c, 0.5 * w, "dubins") for c in cells], start_xy)
    lines_s = sum(s.length_m for s in swath_set.swaths) / params.speed_mps
    turns_s = params.turnaround_s() * sum(len(r.order) - 1 for r in routes)
    hops_s = sum(float(np.hypot(*(b.entry[:2] - a.exit[:2]))) for a, b in pairwise(routes))
    return _Layout(swath_set, routes, lines_s + turns_s + hops_s / params.transit_speed_mps)


def _choose_layout(areas: _Areas, clearance: BaseGeometry, params: SurveyParams,
                  start_xy: np.ndarray | None = None) -> _Layout:
    """Line direction and placement with the least estimated flight time (fixed angle, or a search)."""
    if params.angle_deg is not None:
        return _layout(areas, clearance, math.radians(params.angle_deg % 180.0), params, start_xy)
    angles = np.radians(np.arange(0.0, 180.0, params.angle_step_deg))
    score = score_angles(areas.lines, params.width_m, angles)
    estimate = score.length_m / params.speed_mps + params.turnaround_s() * np.maximum(score.n_swaths - 1, 0)
    picks = [float(a) for a in angles[np.argsort(estimate, kind="stable")[:_SHORTLIST]]]
    layouts = [_layout(areas, clearance, a, params, start_xy) for a in picks]
    return min(layouts, key=lambda lay: lay.estimate_s)


class _Builder:
    """Collects stretches into one path; consecutive stretches share their joining sample."""

    def __init__(self, params: SurveyParams) -> None:
        self.params = params
        self.chunks: list[np.ndarray] = []

    def add(self, xy: np.ndarray, kind: SegmentKind, speed_mps: float, sections: int = 0, swath: int = -1,
            heading: np.ndarray | None = None) -> None:
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if len(xy) < 2:
            return
        out = make_path(xy, heading, kind=kind, speed_mps=speed_mps, sections=sections, swath=swath,
                        z_m=self.params.altitude_m)
        if self.chunks:
            self.chunks[-1] = self.chunks[-1][:-1]
        self.chunks.append(out)

    @property
    def last(self) -> np.ndarray:
        s = self.chunks[-1][-1]
        return np.array([s["x"], s["y"], s["heading"]])


def _lines(geom: BaseGeometry) -> list[LineString]:
    return [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, LineString) and g.length > 1e-6]


def _spray_cuts(areas: _Areas, swath_set: SwathSet, across: float, lo: float, hi: float,
                overfly: bool) -> list[tuple[float, float, bool]]:
    """Stretches ``(from, to, working)`` of one line piece in along-track metres: off over obstacles and
    outside the target; the kernel's end extensions stay working."""
    ends = swath_set.to_world(np.array([lo, hi]), np.array([across, across]))
    d = swath_set.direction
    if not areas.cover.covers(LineString(ends)):   # the kernel's end extensions may overshoot by centimetres
        inside = [np.asarray(g.coords) @ d for g in _lines(LineString(ends).intersection(areas.flyable))]
        if inside:
            lo = max(lo, min(float(a.min()) for a in inside))
            hi = min(hi, max(float(a.max()) for a in inside))
            ends = swath_set.to_world(np.array([lo, hi]), np.array([across, across]))
    if not overfly:
        return [(lo, hi, True)]
    inter = LineString(ends).intersection(areas.work)
    spans = [(float(np.dot(np.asarray(g.coords)[0], d)), float(np.dot(np.asarray(g.coords)[-1], d)))
             for g in _lines(inter)]
    spans = sorted((min(a, b), max(a, b)) for a, b in spans)
    if not spans:
        return [(lo, hi, False)]
    spans[0] = (lo, spans[0][1])
    spans[-1] = (spans[-1][0], hi)
    out: list[tuple[float, float, bool]] = []
    here = lo
    for a, b in spans:
        if a > here + 1e-6:
            out.append((here, a, False))
        if b > here + 1e-6:
            out.append((max(a, here), b, True))
            here = b
    return out


def _build_path(layout: _Layout, areas: _Areas, free: FreeSpace, params: SurveyParams) -> np.ndarray:
    build = _Builder(params)
    ss = layout.swath_set
    on = params.all_sections
    swath_id = 0
    overfly = params.obstacles == "overfly"
    for route in layout.routes:
        first = True
        for idx, d in zip(route.order, route.directions):
            s = route.cell.swaths[idx]
            cuts = _spray_cuts(areas, ss, s.across_m, s.start_m, s.end_m, overfly)
            if d < 0:
                cuts = [(b, a, w) for a, b, w in reversed(cuts)]
            heading = ss.angle_rad if d > 0 else ss.angle_rad + math.pi
            start = ss.to_world(np.array(cuts[0][0]), np.array(s.across_m))
            if build.chunks:
                here = build.last
                if first:
                    build.add(free.route(here[:2], start), SegmentKind.TRANSIT, params.transit_speed_mps)
                elif params.turnaround == "arc":
                    goal = (float(start[0]), float(start[1]), heading)
                    arc = shortest(tuple(here), goal, 0.5 * params.width_m, "dubins")
                    pts = arc.sample(params.sample_step_m)
                    build.add(pts[:, :2], SegmentKind.TURN, params.arc_speed_mps, heading=pts[:, 2])
                else:
                    side = min(params.side_speed_mps, params.speed_mps)
                    build.add(free.route(here[:2], start), SegmentKind.TURN, side)
            for a, b, working in cuts:
                xy = ss.to_world(np.array([a, b]), np.array([s.across_m, s.across_m]))
                build.add(xy, SegmentKind.SWATH if working else SegmentKind.TRANSIT,
                          params.speed_mps if working else params.transit_speed_mps, on if working else 0,
                          swath_id if working else -1, heading=np.full(2, heading))
            swath_id += 1
            first = False
    return np.concatenate(build.chunks) if build.chunks else np.zeros(0, dtype=PATH_DTYPE)


def _field_figures(plan: Plan, areas: _Areas) -> PlanMetrics:
    """Coverage and overlap of the work area; violations are stretches outside where the drone may fly."""
    covered, overlap = swath_overlap(swept_areas(plan, (SegmentKind.SWATH,)), areas.work)
    return replace(plan.metrics, field_area_m2=float(areas.work.area),
                   coverage_ratio=covered / float(areas.work.area), overlap_ratio=overlap,
                   boundary_violations=violations(plan, areas.flyable))


def plan_survey(field: Field, params: SurveyParams, *, target: BaseGeometry | None = None,
                terrain: Terrain | Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                start_xy: Sequence[float] | None = None, implement: str = "", vehicle: str = "",
                meta: Mapping[str, Any] | None = None) -> Plan:
    """A drone's passes over ``field`` (or over ``target``, a zone of it), starting near ``start_xy``."""
    t0 = time.perf_counter()
    areas = _areas(field, target, params)
    clearance = areas.cover
    free = FreeSpace(areas.flyable, clearance_m=max(0.5, min(2.0, 0.25 * params.width_m)))
    start = np.asarray(start_xy, dtype=float)[:2] if start_xy is not None else None
    layout = _choose_layout(areas, clearance, params, start)
    if not layout.routes:
        raise PlanError(f"field {field.name!r}: the target area is too small for a {params.width_m:g} m "
                        "swath")
    path = _build_path(layout, areas, free, params)
    if terrain is not None:
        path = follow_terrain(path, terrain, step_m=max(params.width_m, 5.0))
    info = {"angle_deg": math.degrees(layout.swath_set.angle_rad), "n_cells": len(layout.routes),
            "turnaround": params.turnaround, "obstacles": params.obstacles, "altitude_m": params.altitude_m,
            "terrain_following": terrain is not None, "work_area_m2": float(areas.work.area)}
    info.update(meta or {})
    plan = Plan(path=path, frame=field.frame, boundary=field.boundary, field_name=field.name,
                width_m=params.width_m, turn_radius_m=0.0, implement=implement, vehicle=vehicle,
                params=params.to_dict(), meta=info)
    metrics = _field_figures(plan, areas)
    return plan.with_(metrics=metrics, meta={**info, "plan_time_s": time.perf_counter() - t0})


class SurveyPlanner:
    """Drone survey and spray plans: passes at a height, zero or arc turnarounds, work over the target."""

    name = "survey"

    def __init__(self, **defaults: Any) -> None:
        self.defaults = defaults

    def plan(self, fields: Sequence[Field], params: SurveyParams | Mapping[str, Any],
             **info: Any) -> list[Plan]:
        spec = str(info.get("implement", "") or "")
        extra: dict[str, Any] = {}
        if not isinstance(params, SurveyParams):
            values = {**self.defaults, **params}
            values.pop("turn_radius_m", None)   # the fleet passes ground figures a drone has no use for
            values.pop("headland_passes", None)
            if spec:
                sw = swath_from_implement(spec, values.get("altitude_m"))
                values.setdefault("width_m", sw.width_m)
                values.setdefault("sections", sw.sections)
                if sw.gsd_m is not None:
                    extra = {"gsd_m": sw.gsd_m, "footprint_m": list(sw.footprint_m or ())}
                    values["altitude_m"] = sw.altitude_m
            params = SurveyParams.from_dict(values)
        return [plan_survey(f, params, implement=spec, vehicle=str(info.get("vehicle", "")), meta=extra)
                for f in fields]

    @staticmethod
    def transit(boundary: Polygon, start_pose: Sequence[float], goal_pose: Sequence[float],
                turn_radius_m: float, speed_mps: float) -> np.ndarray:
        """Straight legs inside ``boundary`` round its obstacles (the fleet's re-planning asks for these);
        a drone has no turning radius, so ``turn_radius_m`` is not used."""
        legs = FreeSpace(boundary).route(np.asarray(start_pose[:2]), np.asarray(goal_pose[:2]))
        return make_path(legs, kind=SegmentKind.TRANSIT, speed_mps=speed_mps)
