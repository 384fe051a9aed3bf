"""Planning the demo's farm: every job of its scenario, in order, each vehicle going on from where it stopped.

A job is one field worked by the whole fleet; the scenario's planner plugin (``job``: tractors on the open
field, drones on the wet corner and a share, finish times balanced) plans it through the plugin registry,
as the fleet would. Fields follow one another in each vehicle's queue, so a vehicle's plan for the next
field starts where its plan for the last one ends:

- a tractor drives the farm's roads: from where it stopped, through the field's gate it left by and the
  yard, to the next field's gate (``params.gate = [x, y, heading_deg]`` of a job; a point just outside the
  field, facing in). From the gate the planner plans its own way in, curvature-limited.
- a drone takes off at a depot of the field (the planner's choice) and its plan starts with the straight
  ferry flight there from where it landed.

Planner warnings (a transit that found no curvature-limited way) are kept as notes for the report.
"""
from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

import numpy as np
from agrifleet.core.errors import AgrifleetError, ScenarioError
from agrifleet.core.plan import PATH_DTYPE, Plan, SegmentKind, make_path
from agrifleet.core.plugin import load

from .scenario import JobEntry, Scenario

__all__ = ["FarmPlan", "JobPlans", "plan_farm"]

logger = logging.getLogger(__name__)

Pose = tuple[float, float, float]     # x, y (m), heading (rad)


@dataclass(frozen=True, slots=True)
class JobPlans:
    """The plans of one job (one field), by vehicle."""

    entry: JobEntry
    plans: Mapping[str, Plan]


@dataclass(frozen=True, slots=True)
class FarmPlan:
    jobs: tuple[JobPlans, ...]
    wall_s: float                 # planning time
    notes: tuple[str, ...]        # what the planners warned about

    def plans_of(self, vehicle: str) -> list[Plan]:
        return [j.plans[vehicle] for j in self.jobs if vehicle in j.plans]


class _Notes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def _noted() -> Iterator[_Notes]:
    """Keep the warnings of agrifleet's loggers while planning (they still reach the log as usual)."""
    handler = _Notes()
    root = logging.getLogger("agrifleet")
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def _gate(entry: JobEntry, source: str, index: int) -> Pose | None:
    gate = entry.params.get("gate")
    if gate is None:
        return None
    ok = isinstance(gate, list) and len(gate) == 3 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in gate)
    if not ok:
        raise ScenarioError(f"{source}: jobs[{index}].params.gate: must be [x, y, heading_deg], got {gate!r}")
    return float(gate[0]), float(gate[1]), math.radians(float(gate[2]))


def _road(points: list[tuple[float, float]], speed_mps: float, step_m: float = 10.0) -> np.ndarray:
    """Straight legs through ``points`` (consecutive duplicates dropped), sampled every ``step_m``, without
    the last point (the plan it leads to starts there)."""
    keep = [np.asarray(points[0], dtype=float)]
    for point in points[1:]:
        q = np.asarray(point, dtype=float)
        if float(np.hypot(*(q - keep[-1]))) > 0.5:
            keep.append(q)
    if len(keep) < 2:
        return np.zeros(0, dtype=PATH_DTYPE)
    xy = [keep[0][None, :]]
    for p, q in pairwise(keep):
        n = max(1, math.ceil(float(np.hypot(*(q - p))) / step_m))
        xy.append(p + (q - p) * (np.arange(1, n + 1)[:, None] / n))
    return make_path(np.vstack(xy), kind=SegmentKind.TRANSIT, speed_mps=speed_mps)[:-1]


def _prefixed(plan: Plan, prefix: np.ndarray) -> Plan:
    """``plan`` preceded by ``prefix`` samples (sorties keep pointing at the same samples)."""
    if len(prefix) == 0:
        return plan
    n = len(prefix)
    sorties = tuple(replace(s, start=s.start + n, stop=s.stop + n) for s in plan.sorties)
    meta = {**plan.meta, "ferry_samples": n}
    return plan.with_(path=np.concatenate([prefix, plan.path]), sorties=sorties, meta=meta)


def plan_farm(scenario: Scenario, starts: Mapping[str, Pose]) -> FarmPlan:
    """Plan every job of ``scenario`` in order from the vehicles' ``starts``; raises :class:`ScenarioError`
    naming the job when a planner refuses it."""
    t0 = time.perf_counter()
    yard = {vid: (p[0], p[1]) for vid, p in starts.items()}
    here: dict[str, Pose] = dict(starts)
    left_by: dict[str, tuple[float, float]] = {}     # the gate a tractor entered its last field by
    jobs: list[JobPlans] = []
    with _noted() as notes:
        for index, entry in enumerate(scenario.jobs):
            plans = _plan_job(scenario, index, entry, here, yard, left_by)
            for vid, plan in plans.items():
                last = plan.path[-1]
                here[vid] = (float(last["x"]), float(last["y"]), float(last["heading"]))
            jobs.append(JobPlans(entry, plans))
    return FarmPlan(tuple(jobs), time.perf_counter() - t0, tuple(dict.fromkeys(notes.lines)))


def _plan_job(scenario: Scenario, index: int, entry: JobEntry, here: dict[str, Pose],
              yard: Mapping[str, tuple[float, float]],
              left_by: dict[str, tuple[float, float]]) -> dict[str, Plan]:
    where = f"{scenario.source}: jobs[{index}]"
    fld = scenario.field(entry.field)
    vehicles = [scenario.vehicle(v) for v in entry.vehicles]
    params: dict[str, Any] = dict(entry.params)
    for v in vehicles:      # each kind carries its own implement unless the job says otherwise
        if v.implement:
            params.setdefault("ground_implement" if v.spec.kind.is_ground else "air_implement", v.implement)
    gate = _gate(entry, scenario.source, index)
    starts: dict[str, Pose] = {}
    for v in vehicles:
        if v.spec.kind.is_ground:
            starts[v.id] = gate if gate is not None else here[v.id]
    try:
        obj = load("agrifleet.planners", entry.planner or "job")
        planner = obj() if inspect.isclass(obj) else obj
        if not callable(getattr(planner, "plan_vehicles", None)):
            raise ScenarioError(f"{where}.planner: {entry.planner!r} cannot plan for several vehicles "
                                "(it has no plan_vehicles)")
        specs = {v.id: v.spec for v in vehicles}
        plans = dict(planner.plan_vehicles(fld, specs, params, starts=starts, implement=entry.implement))
    except ScenarioError:
        raise
    except AgrifleetError as exc:
        raise ScenarioError(f"{where} ({entry.field}): {exc}") from None
    except (TypeError, ValueError) as exc:       # a planner refusing its parameters
        raise ScenarioError(f"{where}.params: {exc}") from None
    out: dict[str, Plan] = {}
    for v in vehicles:
        plan = plans.get(v.id)
        if plan is None or len(plan) < 2:
            logger.info("job %s: no work for %s", entry.name, v.id)
            continue
        x, y, _ = here[v.id]
        if v.spec.kind.is_ground:
            stops = [(x, y)]
            if v.id in left_by:
                stops.append(left_by[v.id])
            if gate is not None:
                stops += [yard[v.id], gate[:2]]
                left_by[v.id] = gate[:2]
            stops.append((float(plan.path["x"][0]), float(plan.path["y"][0])))
            prefix = _road(stops, v.spec.transit_speed_mps)
        else:
            first = plan.path[0]
            prefix = _road([(x, y), (float(first["x"]), float(first["y"]))], v.spec.transit_speed_mps)
            prefix["z"] = first["z"]
        out[v.id] = _prefixed(plan, prefix).with_(vehicle=v.id)
    if not out:
        raise ScenarioError(f"{where}: the planner found no work in field {entry.field!r}")
    return out
