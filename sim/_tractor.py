"""Ground vehicle dynamics: a kinematic bicycle with steering lag, speed limits, slope slip and a towed
implement. Public names are re-exported by :mod:`agrifleet.sim.vehicles`.

The reference point is the centre of the rear axle (where a tractor's turning circle is measured and where
pure pursuit steers from). Over one step the steering angle and the speed are taken at their mid-step
values and the pose is advanced along the exact arc they describe, so a held steering angle drives a circle
of radius ``wheelbase / tan(steer)`` however coarse the step.

A towed implement hangs on a hitch ``hitch_offset_m`` behind the rear axle; its working centre sits on its
own axle ``implement_offset_m`` behind the hitch. Its heading follows the off-axle-hitched trailer equation
``phi' = (v sin(theta - phi) - h w cos(theta - phi)) / l``. A mounted implement (``towed=False``) is rigid.
The implement's working centre, not the tractor, is what the coverage raster paints.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from agrifleet.core.errors import ConfigError
from agrifleet.core.vehicle import GroundControl, VehicleKind, VehicleSpec, VehicleState

from .energy import Payload
from .world import CALM, Environment

__all__ = ["GroundVehicleModel", "RoverModel", "SlipParams", "TractorModel"]

TWO_PI = 2.0 * math.pi


@dataclass(frozen=True, slots=True)
class SlipParams:
    """A kinematic stand-in for tyre slip on slopes (zero = no slip, the default).

    ``crab_rad_per_grade``: the vehicle crabs downhill by this angle per unit cross-slope (rise/run) at
    any speed, the way a tractor drifts across a side slope. ``speed_loss_per_grade``: the fraction of
    wheel speed lost per unit uphill grade (wheel slip under draft load); downhill has no gain."""

    crab_rad_per_grade: float = 0.0
    speed_loss_per_grade: float = 0.0

    def __post_init__(self) -> None:
        for name in ("crab_rad_per_grade", "speed_loss_per_grade"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ConfigError(f"slip: {name} = {v!r} must be >= 0")


class GroundVehicleModel:
    """Kinematic bicycle for tractors and rovers (``VehicleModel`` protocol). Not armed: brakes to a stop."""

    __slots__ = ("spec", "state", "payload", "slip", "towed", "max_decel_mps2", "jackknife_rad",
                 "jackknifed", "_trailer_len", "_hitch", "_lag_dt", "_lag_k", "_widths")
    kind: ClassVar[VehicleKind] = VehicleKind.TRACTOR

    def __init__(self, spec: VehicleSpec, state: VehicleState | None = None, *,
                 payload: Payload | None = None, slip: SlipParams | None = None, towed: bool | None = None,
                 max_decel_mps2: float | None = None, jackknife_deg: float = 80.0) -> None:
        if not spec.kind.is_ground:
            raise ConfigError(f"vehicle {spec.name!r}: a ground model cannot drive a {spec.kind.value}")
        if spec.wheelbase_m <= 0 or spec.max_steer_rad <= 0 or spec.max_steer_rad >= math.pi / 2:
            raise ConfigError(f"vehicle {spec.name!r}: a ground model needs wheelbase_m > 0 and "
                              f"0 < max_steer_rad < pi/2 (got {spec.wheelbase_m!r}, {spec.max_steer_rad!r})")
        self.spec = spec
        self.state = state if state is not None else VehicleState()
        self.payload = payload
        self.slip = slip if slip is not None else SlipParams()
        self.towed = spec.implement_offset_m > 0 if towed is None else bool(towed)
        if self.towed and spec.implement_offset_m <= 0:
            raise ConfigError(f"vehicle {spec.name!r}: a towed implement needs implement_offset_m > 0")
        self.max_decel_mps2 = 2.0 * spec.max_accel_mps2 if max_decel_mps2 is None else float(max_decel_mps2)
        if not self.max_decel_mps2 > 0:
            raise ConfigError(f"vehicle {spec.name!r}: max_decel_mps2 must be > 0")
        self.jackknife_rad = math.radians(jackknife_deg)
        self.jackknifed = False
        self._hitch = spec.hitch_offset_m
        self._trailer_len = spec.implement_offset_m
        self._lag_dt = -1.0   # the step the cached lag factor was computed for
        self._lag_k = 1.0
        self._widths: dict[int, tuple[int, float]] = {}  # commanded mask -> (mask worked, its width)
        if state is None:
            self.state.tank_l = spec.tank_l
            self.state.battery_wh = spec.battery_wh
            self.reset_implement()

    # --- public helpers ---------------------------------------------------------------------------------
    def arm(self) -> bool:
        self.state.armed = True
        self.state.landed = True
        return True

    def disarm(self) -> bool:
        self.state.armed = False
        return True

    def place(self, x: float, y: float, heading_rad: float, env: Environment = CALM) -> None:
        """Put the vehicle at rest at a pose, implement straight behind."""
        s = self.state
        s.x, s.y, s.heading_rad = float(x), float(y), float(heading_rad)
        s.z = env.height_at(s.x, s.y)
        s.speed_mps = s.vx = s.vy = s.vz = s.steer_rad = s.yaw_rate_rad_s = 0.0
        self.reset_implement()

    def reset_implement(self) -> None:
        """Line the implement up straight behind the tractor."""
        s = self.state
        back = self._hitch + self._trailer_len
        s.implement_heading_rad = s.heading_rad
        s.implement_x = s.x - back * math.cos(s.heading_rad)
        s.implement_y = s.y - back * math.sin(s.heading_rad)

    @property
    def turning_radius_m(self) -> float:
        return self.spec.wheelbase_m / math.tan(self.spec.max_steer_rad)

    # --- dynamics ---------------------------------------------------------------------------------------
    def step(self, dt_s: float, control: Any, env: Environment | None = None) -> VehicleState:
        if not isinstance(control, GroundControl):
            raise ConfigError(f"vehicle {self.spec.name!r}: a ground model takes GroundControl, "
                              f"not {type(control).__name__}")
        if env is None:
            env = CALM
        spec = self.spec
        s = self.state
        dt = dt_s
        armed = s.armed

        # Steering: first-order actuator lag towards the clipped demand, then the rate limit.
        max_steer = spec.max_steer_rad
        demand = control.steer_rad if armed else s.steer_rad
        if demand > max_steer:
            demand = max_steer
        elif demand < -max_steer:
            demand = -max_steer
        steer0 = s.steer_rad
        if dt != self._lag_dt:
            tau = spec.steer_time_constant_s
            self._lag_k = 1.0 - math.exp(-dt / tau) if tau > 0 else 1.0
            self._lag_dt = dt
        move = (demand - steer0) * self._lag_k
        max_move = spec.max_steer_rate_rad_s * dt
        if move > max_move:
            move = max_move
        elif move < -max_move:
            move = -max_move
        steer1 = steer0 + move

        # Speed: clipped demand, acceleration and braking limits (braking when |v| shrinks).
        v_max = spec.max_speed_mps
        v_dem = control.speed_mps if armed else 0.0
        if v_dem > v_max:
            v_dem = v_max
        elif v_dem < 0.0 and v_dem < (-v_max if spec.reverse_allowed else 0.0):
            v_dem = -v_max if spec.reverse_allowed else 0.0
        v0 = s.speed_mps
        dv = v_dem - v0
        braking = abs(v_dem) < abs(v0) or v_dem * v0 < 0
        limit = (self.max_decel_mps2 if braking else spec.max_accel_mps2) * dt
        if dv > limit:
            dv = limit
        elif dv < -limit:
            dv = -limit
        v1 = v0 + dv

        v_mid = 0.5 * (v0 + v1)
        steer_mid = 0.5 * (steer0 + steer1)
        theta0 = s.heading_rad

        # Slope: wheel slip uphill, crab downhill across the slope.
        crab = 0.0
        slip = self.slip
        if slip.crab_rad_per_grade or slip.speed_loss_per_grade:
            gx, gy = env.gradient_at(s.x, s.y)
            c, sn = math.cos(theta0), math.sin(theta0)
            uphill = (gx * c + gy * sn) * (1.0 if v_mid >= 0 else -1.0)
            if uphill > 0:
                v_mid *= max(0.0, 1.0 - slip.speed_loss_per_grade * uphill)
            cross = -gx * sn + gy * c  # > 0: ground rises to the left, so the vehicle drifts right
            crab = -slip.crab_rad_per_grade * cross

        w = v_mid * math.tan(steer_mid) / spec.wheelbase_m
        dtheta = w * dt
        theta1 = theta0 + dtheta
        if abs(dtheta) > 1e-9:
            r = v_mid / w
            dx = r * (math.sin(theta1) - math.sin(theta0))
            dy = -r * (math.cos(theta1) - math.cos(theta0))
        else:
            dist = v_mid * dt
            dx = dist * math.cos(theta0 + 0.5 * dtheta)
            dy = dist * math.sin(theta0 + 0.5 * dtheta)
        if crab != 0.0:  # the ground track is turned by the crab angle, downhill whichever way it drives
            if v_mid < 0:
                crab = -crab
            cc, sc = math.cos(crab), math.sin(crab)
            dx, dy = dx * cc - dy * sc, dx * sc + dy * cc

        x1, y1 = s.x + dx, s.y + dy
        self._move_implement(theta0, theta1, v_mid, w, dt, x1, y1)

        s.x, s.y = x1, y1
        s.z = env.height_at(x1, y1)
        s.heading_rad = math.remainder(theta1, TWO_PI)
        s.speed_mps = v1
        s.steer_rad = steer1
        s.yaw_rate_rad_s = w
        s.vx, s.vy = dx / dt, dy / dt
        s.vz = 0.0
        s.landed = True

        # Implement and tank: nothing flows from an empty tank.
        sections = control.sections if armed else 0
        payload = self.payload
        if payload is not None and sections:
            known = self._widths.get(sections)
            if known is None:
                masked = sections & payload.all_sections
                known = self._widths[sections] = (masked, payload.width_on_m(masked))
            sections, width = known
            if spec.tank_l > 0:
                if s.tank_l <= 0.0:
                    sections = 0
                else:
                    flow = payload.rate_per_ha * 1e-4 * width * abs(v_mid)
                    s.tank_l = max(0.0, s.tank_l - flow * dt)
        s.sections = sections
        return s

    def _move_implement(self, theta0: float, theta1: float, v: float, w: float, dt: float,
                        x1: float, y1: float) -> None:
        s = self.state
        h = self._hitch
        if not self.towed:
            back = h + self._trailer_len
            s.implement_heading_rad = math.remainder(theta1, TWO_PI)
            s.implement_x = x1 - back * math.cos(theta1)
            s.implement_y = y1 - back * math.sin(theta1)
            return
        ell = self._trailer_len
        phi = s.implement_heading_rad
        # Classic RK4 of phi' = (v sin(theta - phi) - h w cos(theta - phi)) / l, with the tractor heading
        # known along the step (it turns at the constant rate w). Written out: this runs every step.
        sin, cos = math.sin, math.cos
        hw = h * w
        half = 0.5 * dt
        theta_m = theta0 + 0.5 * w * dt
        d = theta0 - phi
        k1 = (v * sin(d) - hw * cos(d)) / ell
        d = theta_m - (phi + half * k1)
        k2 = (v * sin(d) - hw * cos(d)) / ell
        d = theta_m - (phi + half * k2)
        k3 = (v * sin(d) - hw * cos(d)) / ell
        d = theta1 - (phi + dt * k3)
        k4 = (v * sin(d) - hw * cos(d)) / ell
        phi += dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        hx = x1 - h * math.cos(theta1)
        hy = y1 - h * math.sin(theta1)
        s.implement_heading_rad = math.remainder(phi, TWO_PI)
        s.implement_x = hx - ell * math.cos(phi)
        s.implement_y = hy - ell * math.sin(phi)
        if abs(math.remainder(theta1 - phi, TWO_PI)) > self.jackknife_rad:
            self.jackknifed = True


class TractorModel(GroundVehicleModel):
    """An Ackermann tractor, optionally towing its implement."""

    __slots__ = ()
    kind: ClassVar[VehicleKind] = VehicleKind.TRACTOR


class RoverModel(GroundVehicleModel):
    """A small Ackermann ground robot (ArduPilot Rover style): the same bicycle, usually no implement."""

    __slots__ = ()
    kind: ClassVar[VehicleKind] = VehicleKind.ROVER
