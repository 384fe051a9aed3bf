"""One job, several vehicles: tractors on the open field, drones where ground machines cannot go, and
everyone finishing at about the same time. One plan per vehicle.

Zones of a field tagged as unsuitable for ground machines (``unsuitable_for = "ground"``, or ``wet``,
``steep``, ``obstacle_dense``) are drone work; zones unsuitable for the air (``unsuitable_for = "air"``)
are tractor work. The rest is shared by time: the drones take a band of the open field next to their own
zones, as wide as it must be for both teams to finish together (a secant search on the band's area, each
step planned for real: coverage plans for the tractors, survey plans cut into sorties for the drones).
Within a team the work is one plan cut into consecutive pieces, one per vehicle, balanced on the
vehicles' measured finish times (:mod:`._drone_split`): a tractor's driving time, a drone's sorties and
refills. A team of one kind only (all drones, or all tractors) is the same without the band.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import shapely
from agrifleet.core.errors import ConfigError, PlanError
from agrifleet.core.field import Field, Zone
from agrifleet.core.implement import Implement, build_implement
from agrifleet.core.plan import PATH_DTYPE, Plan, SegmentKind, make_path
from agrifleet.core.replan import transit_path
from agrifleet.core.vehicle import VehicleSpec
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from ._drone_energy import FlightModel
from ._drone_split import balance, spread
from .coverage import plan_field
from .params import CoverageParams
from .sorties import SortieParams, split_sorties
from .survey import plan_survey, survey_params, swath_from_implement

__all__ = ["JobParams", "JobPlan", "JobPlanner", "air_unsuitable", "ground_unsuitable", "plan_job"]

logger = logging.getLogger(__name__)

_FLAGS = ("wet", "steep", "obstacle_dense")
_MIN_PART_M2 = 2000.0   # open-field scraps smaller than this go to the drones


def ground_unsuitable(zone: Zone) -> bool:
    t = zone.tags
    return str(t.get("unsuitable_for", "")).lower() in ("ground", "tractor", "tractors") or any(
        str(t.get(f, "")).lower() in ("1", "true", "yes") for f in _FLAGS)


def air_unsuitable(zone: Zone) -> bool:
    return str(zone.tags.get("unsuitable_for", "")).lower() in ("air", "drone", "drones", "multirotor")


@dataclass(frozen=True, slots=True)
class JobParams:
    """What the vehicles carry and how the work is shared. Depots are refill points in local metres."""

    ground_implement: str = ""
    air_implement: str = ""
    depots: tuple[tuple[float, float], ...] = ()
    headland_passes: int = 2
    turnaround: str = "zero"
    obstacles: str = "avoid"
    altitude_m: float | None = None
    reserve: float = 0.2
    service_time_s: float = 120.0
    tolerance: float = 0.05
    rounds: int = 8

    def __post_init__(self) -> None:
        if not (0.0 < self.tolerance < 1.0):
            raise ConfigError(f"job: tolerance = {self.tolerance!r} must be within 0..1")
        if not isinstance(self.rounds, int) or self.rounds < 1:
            raise ConfigError(f"job: rounds = {self.rounds!r} must be a whole number >= 1")


@dataclass(frozen=True, slots=True)
class JobPlan:
    """The plans of a job, one per vehicle, with their finish times and who got which area."""

    plans: Mapping[str, Plan]
    finish_s: Mapping[str, float]
    ground_area_m2: float
    air_area_m2: float
    unworked_area_m2: float
    plan_time_s: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def spread(self) -> float:
        """``(max - min) / max`` of the finish times of the vehicles that have work."""
        return spread([t for t in self.finish_s.values() if t > 0])

    def figures(self) -> dict[str, Any]:
        return {"vehicles": {k: {"finish_s": v, "role": self.plans[k].meta.get("role"),
                                 "sorties": len(self.plans[k].sorties)} for k, v in self.finish_s.items()},
                "finish_s": max(self.finish_s.values(), default=0.0), "spread": self.spread,
                "ground_area_m2": self.ground_area_m2, "air_area_m2": self.air_area_m2,
                "unworked_area_m2": self.unworked_area_m2, "plan_time_s": self.plan_time_s,
                "notes": list(self.notes)}


def _polys(geom: BaseGeometry, min_area_m2: float = 1.0) -> list[Polygon]:
    parts = [geom] if isinstance(geom, Polygon) else list(getattr(geom, "geoms", []))
    return [orient(p, 1.0) for p in parts if isinstance(p, Polygon) and p.area >= min_area_m2]


def _union(zones: Sequence[Zone], within: Polygon) -> BaseGeometry:
    return shapely.union_all([z.polygon for z in zones]).intersection(within) if zones else Polygon()


def _check_capable(v: VehicleSpec, impl: Implement) -> None:
    missing = set(impl.capabilities_required) - set(v.capabilities)
    if missing:
        raise ConfigError(f"vehicle {v.name!r} cannot carry the {impl.name}: "
                          f"it lacks {', '.join(sorted(missing))}")


class _Band:
    """Slices of the open field along its long axis, from the side next to the drones' own zones."""

    def __init__(self, ground: BaseGeometry, toward: BaseGeometry) -> None:
        rect = np.asarray(shapely.minimum_rotated_rectangle(ground).exterior.coords)[:4]
        edges = np.diff(np.vstack([rect, rect[:1]]), axis=0)
        long = edges[int(np.argmax(np.hypot(*edges.T)))]
        n = np.array([-long[1], long[0]]) / max(float(np.hypot(*long)), 1e-12)
        c = np.asarray(ground.centroid.coords[0])
        if not toward.is_empty and float(np.dot(np.asarray(toward.centroid.coords[0]) - c, n)) < 0:
            n = -n
        self.ground, self.n = ground, n
        pts = np.asarray(shapely.get_coordinates(ground))
        self.lo, self.hi = float((pts @ n).min()), float((pts @ n).max())
        self.size = float(np.ptp(pts, axis=0).max()) * 4 + 1.0
        self.centre = c

    def part(self, from_across: float) -> BaseGeometry:
        """The open field beyond ``from_across`` along the normal (towards the drones' side)."""
        along = np.array([self.n[1], -self.n[0]]) * self.size
        base = self.centre + self.n * (from_across - float(np.dot(self.centre, self.n)))
        half = Polygon([base - along, base + along, base + along + self.n * self.size,
                        base - along + self.n * self.size])
        return self.ground.intersection(half)

    def of_area(self, area_m2: float) -> BaseGeometry:
        if area_m2 <= 0:
            return Polygon()
        lo, hi = self.lo, self.hi
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if self.part(mid).area < area_m2 else (mid, hi)
        return self.part(lo)


class _Teams:
    """Plans one share of the open field and returns everyone's plans and finish times."""

    def __init__(self, fld: Field, vehicles: Sequence[VehicleSpec], params: JobParams,
                 starts: Mapping[str, Sequence[float]]) -> None:
        self.field, self.params, self.starts = fld, params, starts
        self.tractors = [v for v in vehicles if v.kind.is_ground]
        self.drones = [v for v in vehicles if not v.kind.is_ground]
        self.notes: list[str] = []
        if self.tractors:
            if not params.ground_implement:
                raise ConfigError("job: tractors need a ground implement "
                                  "(ground_implement / --ground-implement)")
            self.ground_tool = build_implement(params.ground_implement)
            for v in self.tractors:
                _check_capable(v, self.ground_tool)
        if self.drones:
            if not params.air_implement:
                raise ConfigError("job: drones need an air implement (air_implement / --air-implement)")
            self.swathing = swath_from_implement(params.air_implement, params.altitude_m)
            for v in self.drones:
                _check_capable(v, self.swathing.implement)
            self.depots = params.depots or (tuple(fld.outer.exterior.coords[0][:2]),)

    # --- tractors -------------------------------------------------------------------------------------
    def ground(self, region: BaseGeometry) -> tuple[dict[str, Plan], dict[str, float], BaseGeometry]:
        """Tractor plans over ``region``; returns plans, finish times and what they could not plan."""
        tool, ts = self.ground_tool, self.tractors
        cp = CoverageParams(width_m=tool.working_width_m,
                            turn_radius_m=max(0.5, *(t.min_turn_radius_m for t in ts)),
                            headland_passes=self.params.headland_passes,
                            work_speed_mps=min(min(t.work_speed_mps for t in ts), tool.max_work_speed_mps),
                            transit_speed_mps=min(t.transit_speed_mps for t in ts),
                            sections=max(1, tool.n_sections))
        paths: list[np.ndarray] = []
        left: list[Polygon] = []
        for k, part in enumerate(sorted(_polys(region), key=lambda p: -p.area)):
            if part.area < _MIN_PART_M2:
                left.append(part)
                continue
            try:
                plan = plan_field(Field(f"{self.field.name} ({k + 1})", part, self.field.frame), cp,
                                  with_metrics=False)
            except PlanError as exc:
                self.notes.append(f"open-field part of {part.area / 1e4:.2f} ha went to the drones: {exc}")
                left.append(part)
                continue
            paths.append(plan.path)
        scraps = shapely.union_all(left) if left else Polygon()
        if not paths:
            return {}, {t.name: 0.0 for t in ts}, scraps
        whole = self._chain(paths, cp.transit_speed_mps)
        u = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(whole["x"]), np.diff(whole["y"]))
                                             / np.maximum(whole["speed"][:-1].astype(float), 1e-3))])

        def evaluate(pieces: list[np.ndarray]) -> tuple[list[float], list[Plan]]:
            plans = [self._tractor_piece(t, p, cp, tool) for t, p in zip(ts, pieces)]
            return [p.metrics.duration_s for p in plans], plans

        best = balance(whole, u, [1.0 / t.work_speed_mps for t in ts], evaluate,
                       tolerance=self.params.tolerance, rounds=self.params.rounds)
        plans = {t.name: p for t, p in zip(ts, best.results)}
        return plans, dict(zip((t.name for t in ts), best.times_s)), scraps

    def _chain(self, paths: list[np.ndarray], speed: float) -> np.ndarray:
        """One path through the parts of the tractors' area, joined by transits inside the field."""
        out = [paths[0]]
        frame = Plan(np.zeros(0, dtype=PATH_DTYPE), boundary=self.field.boundary, turn_radius_m=1.0)
        for p in paths[1:]:
            out.append(transit_path(frame, out[-1][-1], p[0], speed))
            out.append(p)
        return np.concatenate(out)

    def _tractor_piece(self, t: VehicleSpec, path: np.ndarray, cp: CoverageParams, tool: Implement) -> Plan:
        path = path.copy()
        kind = path["kind"]
        work = np.isin(kind, [int(SegmentKind.SWATH), int(SegmentKind.HEADLAND)])
        other = np.where(kind == int(SegmentKind.TURN), cp.turn_speed_mps, t.transit_speed_mps)
        path["speed"] = np.where(work, min(t.work_speed_mps, tool.max_work_speed_mps), other)
        frame = Plan(path, boundary=self.field.boundary, turn_radius_m=cp.turn_radius_m)
        start = self.starts.get(t.name)
        if start is not None:
            s = make_path(np.array([start[:2]]), np.array([start[2] if len(start) > 2 else 0.0]),
                          kind=SegmentKind.TRANSIT, speed_mps=t.transit_speed_mps)[0]
            path = np.concatenate([transit_path(frame, s, path[0], t.transit_speed_mps), path])
        return Plan(path, frame=self.field.frame, boundary=self.field.boundary, field_name=self.field.name,
                    width_m=cp.width_m, turn_radius_m=cp.turn_radius_m,
                    implement=self.params.ground_implement, vehicle=t.name, params=cp.to_dict(),
                    meta={"role": "ground"})

    # --- drones ---------------------------------------------------------------------------------------
    def air(self, region: BaseGeometry) -> tuple[dict[str, Plan], dict[str, float]]:
        ds, p = self.drones, self.params
        if region.is_empty or region.area < 1.0:
            return {}, {d.name: 0.0 for d in ds}
        sp = survey_params(self.swathing, ds[0], turnaround=p.turnaround, obstacles=p.obstacles,
                           speed_mps=min(min(d.work_speed_mps for d in ds), self.swathing.max_speed_mps))
        start = self.starts.get(ds[0].name) or self.depots[0]
        whole = plan_survey(self.field, sp, target=region, start_xy=start[:2], implement=p.air_implement)
        consumable = self.swathing.implement.consumable
        density = consumable.density_kg_per_unit if consumable is not None else 1.0
        u = np.concatenate([[0.0], np.cumsum(FlightModel(ds[0], density).stretch_times(whole.path))])

        def evaluate(pieces: list[np.ndarray]) -> tuple[list[float], list[Plan]]:
            plans = []
            for d, piece in zip(ds, pieces):
                launch = self.starts.get(d.name)
                sp_d = SortieParams(self.depots, launch_xy=tuple(launch[:2]) if launch is not None else None,
                                    reserve=p.reserve, service_time_s=p.service_time_s)
                plans.append(split_sorties(whole.with_(path=piece, metrics=whole.metrics), d, sp_d))
            return [q.meta["job_time_s"] for q in plans], plans

        best = balance(whole.path, u, [1.0 for _ in ds], evaluate, tolerance=p.tolerance, rounds=p.rounds)
        plans = {d.name: q.with_(vehicle=d.name, meta={**q.meta, "role": "air"})
                 for d, q in zip(ds, best.results)}
        return plans, dict(zip((d.name for d in ds), best.times_s))


def plan_job(fld: Field, vehicles: Sequence[VehicleSpec], params: JobParams, *,
             starts: Mapping[str, Sequence[float]] | None = None) -> JobPlan:
    """Plans for every vehicle of a job on ``fld`` (see the module documentation). ``starts`` gives
    vehicles' start poses ``(x, y[, heading])``; a drone without one takes off at the nearest depot."""
    t0 = time.perf_counter()
    names = [v.name for v in vehicles]
    if not vehicles:
        raise ConfigError("job: no vehicles")
    if len(set(names)) != len(names):
        raise ConfigError(f"job: vehicle names must differ, got {', '.join(names)}")
    teams = _Teams(fld, vehicles, params, starts or {})
    boundary = fld.boundary
    drone_only = _union([z for z in fld.zones if ground_unsuitable(z)], boundary)
    tractor_only = _union([z for z in fld.zones if air_unsuitable(z)], boundary)
    open_field = boundary.difference(drone_only).difference(tractor_only)
    if not teams.tractors:
        plans, finish = teams.air(boundary.difference(tractor_only))
        air_m2 = boundary.difference(tractor_only).area
        return _result(plans, finish, 0.0, air_m2, tractor_only.area, t0, teams)
    if not teams.drones:
        plans, finish, left = teams.ground(boundary.difference(drone_only))
        return _result(plans, finish, boundary.difference(drone_only).area - left.area,
                       0.0, drone_only.area + left.area, t0, teams)

    band = _Band(open_field, drone_only)
    tractor_names = {t.name for t in teams.tractors}

    def run(share_m2: float) -> tuple[float, float, dict[str, Plan], dict[str, float], float]:
        """Plan with ``share_m2`` of the open field given to the drones: (ground minus air team time,
        spread, plans, finish times, area the drones got)."""
        given = band.of_area(share_m2)
        g_plans, g_finish, left = teams.ground(boundary.difference(drone_only).difference(given))
        air_area = shapely.union_all([drone_only, given, left])
        a_plans, a_finish = teams.air(air_area)
        finish = {**g_finish, **a_finish}
        gap = float(np.mean(list(g_finish.values())) - np.mean(list(a_finish.values())))
        return gap, spread(list(finish.values())), {**g_plans, **a_plans}, finish, float(air_area.area)

    x_prev = 0.0
    gap_prev, s, plans, finish, air_m2 = run(x_prev)
    best = (s, plans, finish, air_m2)
    if gap_prev < 0 and s > params.tolerance:
        teams.notes.append("the drones' own zones take longer than the tractors' whole share: the tractors "
                           "finish first (more drones, or fewer tractors, would balance the job)")
    if gap_prev > 0 and s > params.tolerance:
        # first guess from the paces seen so far (vehicle-seconds per square metre), then secant steps
        n_g, n_a = len(teams.tractors), len(teams.drones)
        g_pace = max(finish[n] for n in tractor_names) * n_g / max(open_field.area, 1.0)
        a_pace = (max(f for n, f in finish.items() if n not in tractor_names) * n_a / drone_only.area
                  if drone_only.area > 1.0 else _drone_pace(teams, params))
        x = (g_pace * open_field.area / n_g - a_pace * drone_only.area / n_a) / (g_pace / n_g + a_pace / n_a)
        x = float(np.clip(x, 0.0, open_field.area))
        for _ in range(params.rounds):
            gap, s, plans, finish, air_m2 = run(x)
            logger.debug("drones take %.2f ha of the open field: ground minus air %.0f s, spread %.3f",
                         x / 1e4, gap, s)
            if s < best[0]:
                best = (s, plans, finish, air_m2)
            if s <= params.tolerance or abs(gap - gap_prev) < 1e-9:
                break
            x, x_prev, gap_prev = float(np.clip(x - gap * (x - x_prev) / (gap - gap_prev), 0.0,
                                                open_field.area)), x, gap
            if abs(x - x_prev) < 1.0:
                break
    _, plans, finish, air_m2 = best
    return _result(plans, finish, boundary.area - air_m2, air_m2, 0.0, t0, teams)


def _drone_pace(teams: _Teams, params: JobParams) -> float:
    """Vehicle-seconds per square metre of a drone, from its width, speed and refills (a first guess)."""
    d, sw = teams.drones[0], teams.swathing
    work = 1.0 / (sw.width_m * min(d.work_speed_mps, sw.max_speed_mps) * 0.75)
    c = sw.implement.consumable
    refill = params.service_time_s / (c.capacity / c.rate_per_ha * 1e4) if c is not None else 0.0
    return work + refill


def _result(plans: dict[str, Plan], finish: dict[str, float], ground_m2: float, air_m2: float,
            unworked_m2: float, t0: float, teams: _Teams) -> JobPlan:
    out = {k: p.with_(meta={**p.meta, "finish_s": finish.get(k, 0.0)}, metrics=p.metrics)
           for k, p in plans.items()}
    for name in finish:
        if name not in out:
            teams.notes.append(f"vehicle {name!r} has no work in this job")
    return JobPlan(out, finish, ground_m2, air_m2, unworked_m2, time.perf_counter() - t0, tuple(teams.notes))


class JobPlanner:
    """One job for tractors and drones at once: zones by suitability, finish times balanced.

    ``plan_vehicles`` gives one plan per vehicle id, the shape the fleet's ``job submit`` needs."""

    name = "job"

    def plan(self, fields: Sequence[Field], params: JobParams | Mapping[str, Any], **info: Any) -> list[Plan]:
        """Every vehicle's plan for each field (``vehicles=[VehicleSpec, ...]`` in ``info``)."""
        vehicles: Sequence[VehicleSpec] = info.get("vehicles") or ()
        jp = params if isinstance(params, JobParams) else _job_params(params, str(info.get("implement", "")))
        return [p for f in fields for p in plan_job(f, vehicles, jp).plans.values()]

    def plan_vehicles(self, fld: Field, vehicles: Mapping[str, VehicleSpec], params: Mapping[str, Any],
                      starts: Mapping[str, Sequence[float]] | None = None,
                      implement: str = "") -> dict[str, Plan]:
        """One plan per vehicle id (the shape of the fleet's ``job submit``); the specs take the ids as
        names. ``implement`` stands for whichever of ``ground_implement``/``air_implement`` is not given."""
        specs = [replace(spec, name=vid) for vid, spec in vehicles.items()]
        return dict(plan_job(fld, specs, _job_params(params, implement), starts=starts).plans)


def _job_params(params: Mapping[str, Any], implement: str) -> JobParams:
    """JobParams from a plain mapping (keys it does not know, such as the coverage planner's, are ignored)."""
    known = set(JobParams.__dataclass_fields__)
    values = {k: v for k, v in params.items() if k in known}
    if "depots" in values:
        values["depots"] = tuple(tuple(float(c) for c in xy) for xy in values["depots"])
    if implement:
        values.setdefault("ground_implement", implement)
        values.setdefault("air_implement", implement)
    return JobParams(**values)
