"""Motions of the simulated autopilot: the controls that hold, climb, land and follow a path.

Path following is :mod:`agrifleet.core.guidance` (pure pursuit for ground vehicles, carrot chasing for
drones), the same code a tractor runs on board: a run of mission waypoints becomes a small
:class:`~agrifleet.core.plan.Plan` that starts where the vehicle is, so a dense polyline is driven
smoothly instead of stopping at every point, and the follower's progress says which waypoints are behind.
The rest is a few lines of position control: a multirotor holds a point with a proportional velocity
demand; a ground vehicle holds by braking to a stop.

Every motion takes the vehicle's *estimate* (what its GNSS says) and returns an ``AirControl`` or a
``GroundControl``; none of them touches the state.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from agrifleet.core.guidance import AirPathFollower, GuidanceParams, PathFollower
from agrifleet.core.plan import Plan, SegmentKind, make_path
from agrifleet.core.vehicle import AirControl, GroundControl, VehicleSpec

__all__ = ["Chain", "Climb", "Estimate", "Hold", "Land", "Motion", "PathMotion"]

HOLD_GAIN_PER_S = 0.8          # velocity demand per metre of position error
HOLD_MAX_MPS = 2.0
ALT_GAIN_PER_S = 1.0
ALT_TOLERANCE_M = 0.3


@dataclass(frozen=True, slots=True)
class Estimate:
    """Where the autopilot believes it is (local ENU metres), and its motion."""

    x: float
    y: float
    z: float                  # height above home
    heading_rad: float
    speed_mps: float
    vx: float = 0.0
    vy: float = 0.0
    vz: float = 0.0
    landed: bool = True


class Motion:
    """A control law with an end: ``done`` once its goal is met (a hold is never done)."""

    done: bool = False

    def control(self, est: Estimate, sections: int) -> AirControl | GroundControl:
        raise NotImplementedError


def _clamp(v: float, lim: float) -> float:
    return min(max(v, -lim), lim)


def _hold_air(est: Estimate, x: float, y: float, z: float, sections: int, climb_mps: float,
              descent_mps: float, max_mps: float = HOLD_MAX_MPS) -> AirControl:
    vx, vy = HOLD_GAIN_PER_S * (x - est.x), HOLD_GAIN_PER_S * (y - est.y)
    h = math.hypot(vx, vy)
    if h > max_mps:
        vx, vy = vx * max_mps / h, vy * max_mps / h
    vz = min(max(ALT_GAIN_PER_S * (z - est.z), -descent_mps), climb_mps)
    return AirControl(vx, vy, vz, None, sections)


class Hold(Motion):
    """Stay at a point: a drone hovers there, a ground vehicle brakes to a stop (steering held)."""

    def __init__(self, air: bool, x: float, y: float, z: float, climb_mps: float = 2.0,
                 descent_mps: float = 1.5) -> None:
        self.air, self.x, self.y, self.z = air, x, y, z
        self.climb_mps, self.descent_mps = climb_mps, descent_mps

    def control(self, est: Estimate, sections: int) -> AirControl | GroundControl:
        if not self.air:
            return GroundControl(0.0, 0.0, sections)
        if est.landed and self.z <= ALT_TOLERANCE_M:
            return AirControl(0.0, 0.0, 0.0, None, 0)
        return _hold_air(est, self.x, self.y, self.z, sections, self.climb_mps, self.descent_mps)


class Climb(Motion):
    """Vertical take-off (or climb) to height ``z`` over ``(x, y)``; done within 0.3 m."""

    def __init__(self, x: float, y: float, z: float, climb_mps: float) -> None:
        self.x, self.y, self.z, self.climb_mps = x, y, z, climb_mps

    def control(self, est: Estimate, sections: int) -> AirControl:
        if not est.landed and abs(est.z - self.z) <= ALT_TOLERANCE_M:
            self.done = True
        ctl = _hold_air(est, self.x, self.y, self.z, 0, self.climb_mps, self.climb_mps)
        if est.landed:   # leave the ground decisively
            return AirControl(0.0, 0.0, self.climb_mps, None, 0)
        return ctl


class Land(Motion):
    """Descend over ``(x, y)`` at ``land_mps`` (slowing to it near the ground); done on touch-down."""

    def __init__(self, x: float, y: float, land_mps: float, ground_z: float = 0.0) -> None:
        self.x, self.y, self.land_mps, self.ground_z = x, y, land_mps, ground_z

    def control(self, est: Estimate, sections: int) -> AirControl:
        if est.landed:
            self.done = True
            return AirControl(0.0, 0.0, 0.0, None, 0)
        hx, hy = HOLD_GAIN_PER_S * (self.x - est.x), HOLD_GAIN_PER_S * (self.y - est.y)
        h = math.hypot(hx, hy)
        if h > HOLD_MAX_MPS:
            hx, hy = hx * HOLD_MAX_MPS / h, hy * HOLD_MAX_MPS / h
        height = est.z - self.ground_z
        vz = -max(self.land_mps, min(2.0, 0.5 * height)) if height > 5.0 else -self.land_mps
        return AirControl(hx, hy, vz, None, 0)


class PathMotion(Motion):
    """Follow a polyline from the vehicle's position through ``points`` (``(N, 3)`` x, y, z above home) at
    ``speeds_mps`` (one per point, for the stretch that ends there). ``passed`` counts the points left
    behind, so the mission knows which waypoints are reached."""

    def __init__(self, spec: VehicleSpec, est: Estimate, points: np.ndarray, speeds_mps: Sequence[float],
                 params: GuidanceParams | None = None, max_vz_mps: float = 2.0) -> None:
        pts = np.asarray(points, dtype=float).reshape(-1, 3)
        xy = np.vstack([[est.x, est.y], pts[:, :2]])
        z = np.concatenate([[est.z], pts[:, 2]])
        speed = np.maximum(np.asarray(speeds_mps, dtype=float).reshape(-1), 0.05)
        path = make_path(xy, kind=SegmentKind.TRANSIT, speed_mps=0.0, z_m=z)
        path["speed"] = np.append(speed, speed[-1])     # sample i starts the stretch that ends at point i
        self.air = not spec.kind.is_ground
        self.n_points = len(pts)
        self.passed = 0
        plan = Plan(path)
        if self.air:
            self._air = AirPathFollower(plan, params, max_vz_mps=max_vz_mps)
        else:
            self._ground = PathFollower(plan, spec.wheelbase_m, spec.max_steer_rad, params)

    def control(self, est: Estimate, sections: int) -> AirControl | GroundControl:
        if self.air:
            cmd = self._air.update(est.x, est.y, est.z, est.speed_mps)
            self._progress(cmd.plan_index, cmd.done)
            if cmd.done:
                return AirControl(0.0, 0.0, 0.0, None, sections)
            return AirControl(cmd.vx_mps, cmd.vy_mps, cmd.vz_mps, cmd.yaw_rad, sections)
        g = self._ground.update(est.x, est.y, est.heading_rad, est.speed_mps)
        self._progress(g.plan_index, g.done)
        return GroundControl(g.steer_rad, g.speed_mps, sections)

    def _progress(self, plan_index: int, done: bool) -> None:
        passed = self.n_points if done else min(max(plan_index, 0), self.n_points)
        if passed > self.passed:
            self.passed = passed
        self.done = done


class Chain(Motion):
    """Motions one after another, each built when its turn comes (from the estimate at that moment); done
    when the last one is. ``stage`` is the index of the motion running now."""

    def __init__(self, *steps: Callable[[Estimate], Motion]) -> None:
        if not steps:
            raise ValueError("a chain of motions needs at least one step")
        self._steps = list(steps)
        self._current: Motion | None = None
        self.stage = -1

    def control(self, est: Estimate, sections: int) -> AirControl | GroundControl:
        while self._current is None or (self._current.done and self._steps):
            self._current = self._steps.pop(0)(est)
            self.stage += 1
        ctl = self._current.control(est, sections)
        self.done = self._current.done and not self._steps
        return ctl
