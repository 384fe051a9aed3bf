"""On-board path following: steer a ground vehicle (or fly a drone) along a :class:`Plan`.

This runs where the vehicle's control loop runs: in the tractor driver on the agent (``drivers/tractor.py``),
in the simulated rover autopilot, and in the in-process simulator driver. It is pure computation over the
plan and a pose estimate, with no clock of its own, so it behaves the same in simulation and on a machine.

Two steering laws (both on the kinematic bicycle whose reference is the rear axle):

- *pure pursuit* aims the rear axle at a point ``L_d`` ahead on the path (``L_d`` grows with speed);
  smooth and robust, it cuts corners on curves by roughly ``L_d^2 / (2 R)``;
- *Stanley* (the Stanford DARPA controller) corrects the front axle's heading error and cross-track error
  ``delta = theta_e + atan(k e / (k_s + v))``. It makes the *front* axle follow the path, so on a curve
  of radius ``R`` the rear axle (and the implement behind it) runs ``R - sqrt(R^2 - L^2)`` inside.
Pure pursuit is the default: with a dense turn path it keeps the rear axle, which carries the implement,
within centimetres on swaths and turns alike. Reverse stretches are always driven with pure pursuit
(Stanley's steered axle would then trail).

Progress is monotone: the projection only moves forward along the path (never jumps to the neighbouring
swath, which is parallel and one working width away), and the plan is split at direction changes (cusps),
where the vehicle is brought to a stop before it backs up. Implement sections are taken from the plan at
the *implement's* position, ``implement_lag_m`` of path behind the control point, so a towed boom switches
where the plan says, not where the tractor is; for the same reason the reported progress (``plan_index``)
is the last sample the implement has passed, so that work resumed from it leaves no gap.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

import numpy as np

from .errors import ConfigError, PlanError
from .plan import Plan

__all__ = ["AirCommand", "AirPathFollower", "GroundCommand", "GuidanceParams", "PathFollower", "SteeringLaw",
           "PathTrack"]


class SteeringLaw(str, Enum):
    PURE_PURSUIT = "pure_pursuit"
    STANLEY = "stanley"


@dataclass(frozen=True, slots=True)
class GuidanceParams:
    """Tuning of the path follower. Distances in metres, gains dimensionless unless named otherwise."""

    law: SteeringLaw = SteeringLaw.PURE_PURSUIT
    lookahead_min_m: float = 3.0        # about the wheelbase: shorter oscillates with a lagging steering
    lookahead_time_s: float = 1.0       # pure pursuit: L_d = max(min, time * |v|)
    stanley_gain: float = 1.5           # k in atan(k e / (k_s + v)), 1/s
    stanley_softening_mps: float = 0.5  # k_s: keeps the law gentle at crawling speed
    stop_decel_mps2: float = 0.5        # braking ramp before a cusp or the end of the plan
    creep_speed_mps: float = 0.2        # least speed while a stop point is still ahead
    goal_tolerance_m: float = 0.2       # a stop point within this distance is reached
    implement_lag_m: float = 0.0        # path length from the control point back to the implement
    finish_implement: bool = True       # at the end of a working stretch, drive on to the implement

    def __post_init__(self) -> None:
        if not isinstance(self.law, SteeringLaw):
            try:
                object.__setattr__(self, "law", SteeringLaw(self.law))
            except ValueError:
                raise ConfigError(f"guidance: law {self.law!r} is not one of "
                                  f"{', '.join(x.value for x in SteeringLaw)}") from None
        for name in ("lookahead_min_m", "stop_decel_mps2", "creep_speed_mps", "goal_tolerance_m"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ConfigError(f"guidance: {name} = {v!r} must be > 0")
        for name in ("lookahead_time_s", "stanley_gain", "stanley_softening_mps", "implement_lag_m"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ConfigError(f"guidance: {name} = {v!r} must be >= 0")


class GroundCommand(NamedTuple):
    """What the follower asks of a ground vehicle now, and where it thinks it is on the plan (a named tuple:
    one is made per control tick)."""

    steer_rad: float
    speed_mps: float            # signed: negative reverses
    sections: int
    plan_index: int             # last plan sample the implement reached: the work done, resume from here
    cross_track_m: float        # signed, left of the path is positive (control point: rear axle)
    heading_error_rad: float    # path heading minus travel heading
    done: bool


class AirCommand(NamedTuple):
    vx_mps: float
    vy_mps: float
    vz_mps: float
    yaw_rad: float | None
    sections: int
    plan_index: int
    cross_track_m: float
    done: bool


class PathTrack:
    """The geometry of a plan prepared for fast, forward-only projection (plain floats, no numpy per call).

    Runs are maximal stretches of one driving direction; a cusp sample ends one run and starts the next."""

    def __init__(self, plan: Plan, start_index: int = 0) -> None:
        p = plan.path
        if len(p) < 2:
            raise PlanError("guidance: a plan needs at least two samples to follow")
        if not 0 <= start_index < len(p) - 1:
            raise PlanError(f"guidance: start index {start_index} is outside the plan's {len(p)} samples")
        self.xs: list[float] = p["x"].astype(float).tolist()
        self.ys: list[float] = p["y"].astype(float).tolist()
        self.zs: list[float] = p["z"].astype(float).tolist()
        self.speed: list[float] = np.abs(p["speed"].astype(float)).tolist()
        self.sections: list[int] = p["sections"].astype(int).tolist()
        dirs = np.where(p["direction"] < 0, -1, 1)
        self.direction: list[int] = dirs.tolist()
        seg = np.hypot(np.diff(p["x"]), np.diff(p["y"]))
        self.seg_len: list[float] = seg.tolist()
        self.s: list[float] = np.concatenate([[0.0], np.cumsum(seg)]).tolist()
        self.n = len(p)
        # Runs: [first sample, last sample] with one direction (of the segments between them).
        cuts = [0] + [k for k in range(1, self.n - 1) if dirs[k] != dirs[k - 1]] + [self.n - 1]
        self.runs: list[tuple[int, int]] = list(zip(cuts[:-1], cuts[1:]))
        self.run = next(r for r, (a, b) in enumerate(self.runs) if a <= start_index < b)
        self.start_index = start_index
        self.i = start_index        # current segment (i -> i + 1)
        self.t = 0.0                # projection parameter on it (may leave [0, 1] at a run's ends)
        self._sec_k = 0

    @property
    def run_dir(self) -> int:
        return self.direction[self.runs[self.run][0]]

    @property
    def s_now(self) -> float:
        return self.s[self.i] + self.t * self.seg_len[self.i]

    @property
    def s_run_end(self) -> float:
        return self.s[self.runs[self.run][1]]

    def project(self, x: float, y: float) -> float:
        """Move the projection forward to the point nearest ``(x, y)``; return the signed cross-track."""
        xs, ys, seg_len = self.xs, self.ys, self.seg_len
        last = self.runs[self.run][1] - 1
        i = self.i
        while True:
            ln = seg_len[i]
            if ln <= 1e-9:
                if i < last:
                    i += 1
                    continue
                t, e = 1.0, 0.0
                break
            dx, dy = (xs[i + 1] - xs[i]) / ln, (ys[i + 1] - ys[i]) / ln
            px, py = x - xs[i], y - ys[i]
            t = (px * dx + py * dy) / ln
            e = dx * py - dy * px
            if t > 1.0 and i < last:
                i += 1
                continue
            break
        self.i, self.t = i, t
        return e

    def heading_at(self, i: int) -> float:
        """Direction of travel along segment ``i``."""
        return math.atan2(self.ys[i + 1] - self.ys[i], self.xs[i + 1] - self.xs[i])

    def point_at(self, s_target: float) -> tuple[float, float, float]:
        """Point of the current run at arc length ``s_target`` (extended straight past the run's end)."""
        a, b = self.runs[self.run]
        i = self.i
        s = self.s
        while i < b - 1 and s[i + 1] < s_target:
            i += 1
        ln = self.seg_len[i]
        if ln <= 1e-9:  # degenerate last segment: fall back to the run's end point
            return self.xs[i + 1], self.ys[i + 1], self.zs[i + 1]
        f = (s_target - s[i]) / ln
        if f < 0.0:
            f = 0.0
        xs, ys, zs = self.xs, self.ys, self.zs
        return (xs[i] + f * (xs[i + 1] - xs[i]), ys[i] + f * (ys[i + 1] - ys[i]),
                zs[i] + min(f, 1.0) * (zs[i + 1] - zs[i]))

    def index_at(self, s_target: float) -> int:
        """The sample that starts the stretch holding arc length ``s_target`` (clamped to the path)."""
        s = self.s
        k = self._sec_k
        if s_target < s[k]:
            k = 0
        while k < self.n - 2 and s[k + 1] <= s_target:
            k += 1
        self._sec_k = k
        return k

    def sections_at(self, s_target: float) -> int:
        """Planned section state at arc length ``s_target`` (0 before the start and after the end)."""
        if s_target < 0.0 or s_target > self.s[-1]:
            return 0
        return self.sections[self.index_at(s_target)]

    def advance_run(self) -> bool:
        """Step to the next run after a cusp; ``False`` at the end of the plan."""
        if self.run + 1 >= len(self.runs):
            return False
        self.run += 1
        self.i = self.runs[self.run][0]
        self.t = 0.0
        return True

    @property
    def plan_index(self) -> int:
        if self.t >= 1.0 and self.i + 1 >= self.runs[self.run][1]:
            return self.runs[self.run][1]
        if self.t < 0.0 and self.i > 0:
            return self.i - 1
        return self.i


class PathFollower:
    """Steering and speed for a ground vehicle with the bicycle geometry ``wheelbase_m``/``max_steer_rad``.

    Call :meth:`update` at the control rate with the estimated rear-axle pose and speed."""

    def __init__(self, plan: Plan, wheelbase_m: float, max_steer_rad: float,
                 params: GuidanceParams | None = None, start_index: int = 0) -> None:
        if not (wheelbase_m > 0 and 0 < max_steer_rad < math.pi / 2):
            raise ConfigError(f"guidance: wheelbase_m = {wheelbase_m!r} must be > 0 and max_steer_rad = "
                              f"{max_steer_rad!r} in (0, pi/2)")
        self.plan = plan
        self.track = PathTrack(plan, start_index)
        self.front = PathTrack(plan, start_index)  # Stanley's front-axle projection
        self.wheelbase_m = float(wheelbase_m)
        self.max_steer_rad = float(max_steer_rad)
        self.params = params if params is not None else GuidanceParams()
        self.done = False
        self._progress = start_index

    def update(self, x: float, y: float, heading_rad: float, speed_mps: float) -> GroundCommand:
        tr = self.track
        p = self.params
        if self.done:
            return GroundCommand(0.0, 0.0, 0, tr.n - 1, 0.0, 0.0, True)
        e = tr.project(x, y)
        s_now = tr.s_now
        direction = tr.run_dir
        is_last_run = tr.run == len(tr.runs) - 1
        overrun = p.implement_lag_m if (is_last_run and p.finish_implement and direction > 0
                                        and tr.sections[tr.runs[tr.run][1] - 1]) else 0.0
        to_go = tr.s_run_end + overrun - s_now
        if to_go <= p.goal_tolerance_m:
            if not tr.advance_run():
                self.done = True
                return GroundCommand(0.0, 0.0, 0, tr.n - 1, e, 0.0, True)
            self.front.run, self.front.i, self.front.t = tr.run, tr.i, 0.0
            e = tr.project(x, y)
            s_now, direction = tr.s_now, tr.run_dir
            to_go = tr.s_run_end - s_now

        i = tr.i
        travel = heading_rad if direction > 0 else heading_rad + math.pi
        path_heading = tr.heading_at(i)
        heading_err = math.remainder(path_heading - travel, 2.0 * math.pi)
        if direction > 0 and p.law is SteeringLaw.STANLEY:
            steer = self._stanley(x, y, heading_rad, speed_mps)
        else:
            steer = self._pure_pursuit(x, y, travel, speed_mps, s_now)
            if direction < 0:
                steer = -steer
        steer = min(max(steer, -self.max_steer_rad), self.max_steer_rad)

        v_plan = tr.speed[i]
        v_stop = math.sqrt(2.0 * p.stop_decel_mps2 * max(to_go - p.goal_tolerance_m * 0.5, 0.0))
        speed = max(min(v_plan, v_stop), min(p.creep_speed_mps, v_plan)) * direction
        s_work = s_now - p.implement_lag_m if direction > 0 else s_now
        sections = tr.sections_at(s_work)
        # Progress is the work done: the sample the implement has passed, never more than the tractor's,
        # never going back. Resuming from it leaves no gap behind a trailed implement.
        work_index = min(tr.plan_index, max(tr.start_index, tr.index_at(s_work)))
        self._progress = max(self._progress, work_index)
        return GroundCommand(steer, speed, sections, self._progress, e, heading_err, False)

    def _pure_pursuit(self, x: float, y: float, travel: float, speed: float, s_now: float) -> float:
        p = self.params
        ld = max(p.lookahead_min_m, p.lookahead_time_s * abs(speed))
        gx, gy, _ = self.track.point_at(s_now + ld)
        dx, dy = gx - x, gy - y
        dist = math.hypot(dx, dy)
        if dist < 1e-6:
            return 0.0
        alpha = math.remainder(math.atan2(dy, dx) - travel, 2.0 * math.pi)
        if abs(alpha) > math.pi / 2:  # goal behind: turn at full lock towards it (left when dead astern)
            return self.max_steer_rad if alpha >= 0 or alpha <= -math.pi + 1e-3 else -self.max_steer_rad
        return math.atan2(2.0 * self.wheelbase_m * math.sin(alpha), dist)

    def _stanley(self, x: float, y: float, heading: float, speed: float) -> float:
        p = self.params
        fx = x + self.wheelbase_m * math.cos(heading)
        fy = y + self.wheelbase_m * math.sin(heading)
        front = self.front
        if front.run != self.track.run or front.i < self.track.i:
            front.run, front.i, front.t = self.track.run, self.track.i, self.track.t
        e = front.project(fx, fy)
        theta_e = math.remainder(front.heading_at(front.i) - heading, 2.0 * math.pi)
        return theta_e + math.atan2(-p.stanley_gain * e, p.stanley_softening_mps + abs(speed))


class AirPathFollower:
    """Velocity demands that carry a multirotor along a plan (carrot chasing in 3-D).

    Plan ``z`` is height above ground; pass the ground height under the drone as ``ground_m`` and it is
    added. The demand points at the carrot ``lookahead`` ahead on the path at the planned speed. Sharp
    corners (a heading change over ``corner_rad``, e.g. the end of a spray pass) are stop points, like the
    end of the plan: the drone brakes into them and does not cut them, so the swath ends where planned.
    Yaw follows the direction of travel."""

    def __init__(self, plan: Plan, params: GuidanceParams | None = None, start_index: int = 0,
                 max_vz_mps: float = 2.0, corner_rad: float = math.radians(30.0),
                 default_height_m: float = 3.0) -> None:
        if not default_height_m > 0:
            raise ConfigError(f"guidance: default_height_m = {default_height_m!r} must be > 0")
        self.plan = plan
        self.default_height_m = default_height_m  # for samples that give no height (z <= 0)
        self.track = PathTrack(plan, start_index)
        self.params = params if params is not None else GuidanceParams(lookahead_min_m=2.0)
        self.max_vz_mps = max_vz_mps
        self.done = False
        tr = self.track
        # A corner is the first sample of a segment that turns over corner_rad from the last segment of
        # non-zero length before it: a repeated sample (a depot that ends one sortie and starts the next)
        # must not hide the turn, or the carrot folds back onto the drone and it hovers there for good.
        corners: list[int] = []
        before: float | None = None
        for k in range(tr.n - 1):
            if tr.seg_len[k] <= 1e-9:
                continue
            heading = tr.heading_at(k)
            if before is not None and abs(math.remainder(heading - before, 2 * math.pi)) > corner_rad:
                corners.append(k)
            before = heading
        self._corners = corners + [tr.n - 1]
        self._c = 0

    def update(self, x: float, y: float, z: float, speed_mps: float, ground_m: float = 0.0) -> AirCommand:
        tr = self.track
        p = self.params
        if self.done:
            return AirCommand(0.0, 0.0, 0.0, None, 0, tr.n - 1, 0.0, True)
        e = tr.project(x, y)
        to_go = tr.s_run_end - tr.s_now
        if to_go <= p.goal_tolerance_m and not tr.advance_run():
            self.done = True
            return AirCommand(0.0, 0.0, 0.0, None, 0, tr.n - 1, e, True)
        s_now = tr.s_now
        while self._corners[self._c] <= tr.i:
            self._c += 1
        s_stop = min(tr.s[self._corners[self._c]], tr.s_run_end)
        if s_stop - s_now <= p.goal_tolerance_m and self._corners[self._c] < tr.n - 1:
            # At the corner: move the projection past it so the carrot turns the corner.
            tr.i, tr.t = self._corners[self._c], 0.0
            self._c += 1
            s_now = tr.s_now
            s_stop = min(tr.s[self._corners[self._c]], tr.s_run_end)
        v_plan = tr.speed[tr.i]
        ld = max(p.lookahead_min_m, p.lookahead_time_s * abs(speed_mps))
        gx, gy, gz = tr.point_at(min(s_now + ld, s_stop))
        dx, dy = gx - x, gy - y
        dist = math.hypot(dx, dy)
        v_brake = math.sqrt(2.0 * p.stop_decel_mps2 * max(s_stop - s_now, 0.0))
        v = min(v_plan, max(v_brake, p.creep_speed_mps), dist / 0.5)
        k = v / dist if dist > 1e-6 else 0.0
        if gz <= 0.0:
            gz = self.default_height_m
        vz = min(max((gz + ground_m - z) * 1.0, -self.max_vz_mps), self.max_vz_mps)
        yaw = math.atan2(dy, dx) if dist > 0.5 else None
        return AirCommand(dx * k, dy * k, vz, yaw, tr.sections_at(s_now), tr.plan_index, e, False)
