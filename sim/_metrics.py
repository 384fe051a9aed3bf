"""What a trial measures while it runs: tracks, distances, cross-track error, geofence breaches.

:class:`TrialMetrics` is a world observer. Every ``every_n_steps`` physics steps it reads each vehicle's
true state (never the sensors) and:

- extends the vehicle's track (decimated to ``track_step_m``, for the report's picture) and adds up the
  distance driven and the distance worked (implement on);
- measures the cross-track error: the distance from the vehicle's control point (a ground machine's rear
  axle, which its guidance steers along the plan; a drone's position) to the plan it is driving, on
  working passes only, from ``settle_m`` after a pass starts to ``settle_m`` before it ends (entering a pass
  is a manoeuvre, not tracking). Swaths (the straight passes, where guidance accuracy is specified) and
  headland passes (curved, where a follower cuts corners by design) are kept apart. The plan and the
  progress index come from the vehicle's agent, so the error is measured against whatever the fleet gave
  the vehicle, re-planned pieces included;
- checks the geofence (the fields grown by a margin): a vehicle that has been inside and leaves it
  breaches it. A vehicle arriving from outside (the yard) is fenced from the moment it first enters.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from agrifleet.core.plan import WORKING_KINDS, Plan, SegmentKind
from shapely.geometry import Point, Polygon

from .world import World

__all__ = ["ErrorStats", "PlanView", "TrialMetrics", "VehicleMetrics"]

_WORKING = np.array([int(k) for k in WORKING_KINDS], dtype=np.uint8)
_BEHIND, _AHEAD = 2, 60     # segments searched around the progress index


class PlanView:
    """A plan's segments prepared for nearest-segment queries, and where its working runs begin and end."""

    def __init__(self, plan: Plan) -> None:
        p = plan.path
        self.x0, self.y0 = p["x"][:-1].astype(float), p["y"][:-1].astype(float)
        self.dx, self.dy = np.diff(p["x"]).astype(float), np.diff(p["y"]).astype(float)
        self.len2 = self.dx * self.dx + self.dy * self.dy
        length = np.sqrt(self.len2)
        self.cum = np.concatenate([[0.0], np.cumsum(length)])
        working = np.isin(p["kind"][:-1], _WORKING) & (p["sections"][:-1] != 0)
        swath = p["swath"][:-1]
        self.working = working
        self.on_swath = p["kind"][:-1] == int(SegmentKind.SWATH)
        n = len(working)
        self.run_start = np.full(n, math.nan)
        self.run_end = np.full(n, math.nan)
        i = 0
        while i < n:
            if not working[i]:
                i += 1
                continue
            j = i
            while j + 1 < n and working[j + 1] and swath[j + 1] == swath[i]:
                j += 1
            self.run_start[i:j + 1] = self.cum[i]
            self.run_end[i:j + 1] = self.cum[j + 1]
            i = j + 1

    def cross_track(self, x: float, y: float, index: int, settle_m: float) -> tuple[float, bool] | None:
        """Distance to the nearest segment near ``index`` and whether it is a swath, when that segment is
        a settled working pass."""
        n = len(self.dx)
        if n == 0:
            return None
        a, b = max(0, index - _BEHIND), min(n, max(index, 0) + _AHEAD)
        if a >= b:
            return None
        px, py = x - self.x0[a:b], y - self.y0[a:b]
        l2 = self.len2[a:b]
        dot = px * self.dx[a:b] + py * self.dy[a:b]
        u = np.clip(np.divide(dot, l2, out=np.zeros(b - a), where=l2 > 0), 0.0, 1.0)
        ex, ey = px - u * self.dx[a:b], py - u * self.dy[a:b]
        d2 = ex * ex + ey * ey
        k = int(np.argmin(d2))
        i = a + k
        if not self.working[i]:
            return None
        s = self.cum[i] + u[k] * (self.cum[i + 1] - self.cum[i])
        if s - self.run_start[i] < settle_m or self.run_end[i] - s < settle_m:
            return None
        return float(math.sqrt(d2[k])), bool(self.on_swath[i])


@dataclass(slots=True)
class ErrorStats:
    """Root mean square and maximum of a stream of errors."""

    sum2: float = 0.0
    n: int = 0
    max_m: float = 0.0

    def add(self, e: float) -> None:
        self.sum2 += e * e
        self.n += 1
        self.max_m = max(self.max_m, e)

    @property
    def rms_m(self) -> float:
        return math.sqrt(self.sum2 / self.n) if self.n else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {"rms_m": self.rms_m, "max_m": self.max_m if self.n else math.nan, "samples": self.n}


@dataclass(slots=True)
class VehicleMetrics:
    distance_m: float = 0.0
    working_m: float = 0.0
    xte_swath: ErrorStats = field(default_factory=ErrorStats)
    xte_headland: ErrorStats = field(default_factory=ErrorStats)
    inside_fence: bool = False
    breaches: list[dict[str, Any]] = field(default_factory=list)
    track: list[tuple[float, float, bool]] = field(default_factory=list)
    last_xy: tuple[float, float] | None = None
    energy_start_wh: float = math.nan
    tank_start_l: float = math.nan


class TrialMetrics:
    """The observer (see the module documentation). ``plan_of(vehicle)`` returns the plan the vehicle is
    driving and its progress index, or ``None`` when it is not driving one."""

    def __init__(self, world: World, vehicles: list[str], plan_of: Callable[[str], tuple[Plan, int] | None],
                 fence: Polygon | None, every_n_steps: int, settle_m: float,
                 track_step_m: float = 1.0) -> None:
        self.world = world
        self.plan_of = plan_of
        self.fence = fence
        if fence is not None:
            shapely.prepare(fence)
        self.every = max(1, every_n_steps)
        self.settle_m = settle_m
        self.track_step_m = track_step_m
        self.vehicles = {v: VehicleMetrics() for v in vehicles}
        self._views: dict[int, tuple[Plan, PlanView]] = {}
        for vid, m in self.vehicles.items():
            s = world.state(vid)
            m.energy_start_wh, m.tank_start_l = s.battery_wh, s.tank_l
            m.last_xy = (s.x, s.y)
            m.track.append((s.x, s.y, False))

    def view(self, plan: Plan) -> PlanView:
        """The plan's segment arrays, built once per plan."""
        key = id(plan)
        hit = self._views.get(key)
        if hit is None or hit[0] is not plan:
            hit = self._views[key] = (plan, PlanView(plan))
        return hit[1]

    def __call__(self, world: World) -> None:
        if world.steps % self.every:
            return
        t = world.t_s
        for vid, m in self.vehicles.items():
            s = world.state(vid)
            x, y, on = s.x, s.y, s.sections != 0
            lx, ly = m.last_xy if m.last_xy is not None else (x, y)
            step = math.hypot(x - lx, y - ly)
            m.distance_m += step
            if on:
                m.working_m += step
            m.last_xy = (x, y)
            tx, ty, ton = m.track[-1]
            if on != ton or math.hypot(x - tx, y - ty) >= self.track_step_m:
                m.track.append((x, y, on))
            driving = self.plan_of(vid)
            if driving is not None:
                plan, index = driving
                hit = self.view(plan).cross_track(x, y, index, self.settle_m)
                if hit is not None:
                    (m.xte_swath if hit[1] else m.xte_headland).add(hit[0])
            if self.fence is not None:
                self._fence(vid, m, t, x, y)

    def _fence(self, vid: str, m: VehicleMetrics, t: float, x: float, y: float) -> None:
        inside = bool(shapely.contains_xy(self.fence, x, y))
        if inside:
            m.inside_fence = True
            if m.breaches and m.breaches[-1]["back_at_s"] is None:
                m.breaches[-1]["back_at_s"] = round(t, 6)
            return
        if not m.inside_fence:
            return
        open_breach = m.breaches[-1] if m.breaches and m.breaches[-1]["back_at_s"] is None else None
        out = float(self.fence.exterior.distance(Point(x, y)))
        if open_breach is None:
            m.breaches.append({"kind": "geofence", "vehicle": vid, "at_s": round(t, 6), "x": round(x, 3),
                               "y": round(y, 3), "max_outside_m": round(out, 3), "back_at_s": None})
        else:
            open_breach["max_outside_m"] = max(open_breach["max_outside_m"], round(out, 3))

    def finish(self) -> None:
        """Close the tracks with the final positions."""
        for vid, m in self.vehicles.items():
            s = self.world.state(vid)
            m.track.append((s.x, s.y, s.sections != 0))
