"""Multirotor dynamics: a 3-D point mass under velocity commands, with tilt, climb and acceleration limits,
quadratic air drag in the wind, ground contact (take-off and landing), and a battery drawn by momentum-theory
rotor power of the *current* mass. Public names are re-exported by :mod:`agrifleet.sim.vehicles`.

The model stands for an airframe with its inner attitude loops closed: it follows a velocity demand with a
first-order response (the way a flight controller's velocity loop does), within the limits the airframe
has. Wind enters through drag on the velocity relative to the air; the controller leans into it, and when
the tilt needed exceeds ``max_tilt_rad`` the drone drifts downwind, as a real one does in a gale.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from agrifleet.core.errors import ConfigError
from agrifleet.core.vehicle import AirControl, VehicleKind, VehicleSpec, VehicleState

from .energy import Payload, RotorPower
from .world import CALM, Environment

__all__ = ["MultirotorModel", "MultirotorParams"]

TWO_PI = 2.0 * math.pi


@dataclass(frozen=True, slots=True)
class MultirotorParams:
    """Airframe figures beyond the :class:`VehicleSpec` (which gives speed, acceleration and mass)."""

    max_tilt_rad: float = math.radians(25.0)
    max_climb_mps: float = 3.0
    max_descent_mps: float = 2.0
    velocity_time_constant_s: float = 0.5
    max_yaw_rate_rad_s: float = math.radians(90.0)
    drag_coeff_kg_per_m: float = 0.4      # F = c |v_air| v_air (0.5 rho Cd A, about 0.65 m2 frontal)
    thrust_to_weight: float = 2.0         # at the maximum take-off mass (empty + full tank)
    crash_speed_mps: float = 3.0          # touching down faster than this is a crash
    power: RotorPower = field(default_factory=RotorPower)

    def __post_init__(self) -> None:
        if not 0 < self.max_tilt_rad < math.pi / 2:
            raise ConfigError(f"multirotor: max_tilt_rad = {self.max_tilt_rad!r} must be in (0, pi/2)")
        for name in ("max_climb_mps", "max_descent_mps", "velocity_time_constant_s", "max_yaw_rate_rad_s",
                     "crash_speed_mps"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ConfigError(f"multirotor: {name} = {v!r} must be > 0")
        if not (math.isfinite(self.drag_coeff_kg_per_m) and self.drag_coeff_kg_per_m >= 0):
            raise ConfigError(f"multirotor: drag_coeff_kg_per_m = {self.drag_coeff_kg_per_m!r} must be >= 0")
        if not (math.isfinite(self.thrust_to_weight) and self.thrust_to_weight > 1.0):
            raise ConfigError(f"multirotor: thrust_to_weight = {self.thrust_to_weight!r} must be > 1")


class MultirotorModel:
    """A spray or survey drone (``VehicleModel`` protocol).

    ``state.z`` is the height above the datum; ground contact is at ``env.height_at(x, y)``. The drone
    takes off when armed and commanded upwards, and lands when it meets the ground descending. With an
    empty battery the motors stop. ``energy_used_wh`` counts what the battery gave since construction."""

    __slots__ = ("spec", "state", "params", "payload", "energy_used_wh", "crashed", "power_w",
                 "_density", "_max_thrust_n")
    kind: ClassVar[VehicleKind] = VehicleKind.MULTIROTOR

    def __init__(self, spec: VehicleSpec, state: VehicleState | None = None, *,
                 params: MultirotorParams | None = None, payload: Payload | None = None) -> None:
        if spec.kind is not VehicleKind.MULTIROTOR:
            raise ConfigError(f"vehicle {spec.name!r}: the multirotor model cannot fly a {spec.kind.value}")
        if spec.empty_mass_kg <= 0:
            raise ConfigError(f"vehicle {spec.name!r}: a multirotor needs empty_mass_kg > 0")
        self.spec = spec
        self.params = params if params is not None else MultirotorParams()
        self.payload = payload
        self._density = payload.density_kg_per_l if payload is not None else 1.0
        self.state = state if state is not None else VehicleState()
        if state is None:
            self.state.tank_l = spec.tank_l
            self.state.battery_wh = spec.battery_wh
        max_mass = spec.empty_mass_kg + spec.tank_l * self._density
        self._max_thrust_n = self.params.thrust_to_weight * max_mass * 9.80665
        self.energy_used_wh = 0.0
        self.power_w = 0.0
        self.crashed = False

    @property
    def mass_kg(self) -> float:
        """Airframe and battery plus what is left in the tank."""
        return self.spec.empty_mass_kg + self.state.tank_l * self._density

    def arm(self) -> bool:
        """Arm the motors; refused with an empty battery."""
        if self.spec.battery_wh > 0 and self.state.battery_wh <= 0:
            return False
        self.state.armed = True
        return True

    def disarm(self) -> bool:
        """Disarm; refused in the air (a real flight controller refuses too, short of a forced kill)."""
        if not self.state.landed:
            return False
        self.state.armed = False
        return True

    def place(self, x: float, y: float, heading_rad: float = 0.0, env: Environment = CALM) -> None:
        """Set the drone down at rest on the ground at a pose."""
        s = self.state
        s.x, s.y, s.heading_rad = float(x), float(y), float(heading_rad)
        s.z = env.height_at(s.x, s.y)
        s.vx = s.vy = s.vz = s.speed_mps = s.yaw_rate_rad_s = 0.0
        s.landed = True
        s.implement_x, s.implement_y, s.implement_heading_rad = s.x, s.y, s.heading_rad

    def step(self, dt_s: float, control: Any, env: Environment | None = None) -> VehicleState:
        if not isinstance(control, AirControl):
            raise ConfigError(f"vehicle {self.spec.name!r}: the multirotor model takes AirControl, "
                              f"not {type(control).__name__}")
        if env is None:
            env = CALM
        p = self.params
        spec = self.spec
        s = self.state
        dt = dt_s
        g = env.gravity_mps2
        rho = env.air_density_kg_m3
        m = self.mass_kg
        ground = env.height_at(s.x, s.y)
        powered = s.armed and not (spec.battery_wh > 0 and s.battery_wh <= 0)

        # Velocity demand within the airframe's limits.
        vx_c, vy_c = control.vx_mps, control.vy_mps
        h_c = math.hypot(vx_c, vy_c)
        if h_c > spec.max_speed_mps:
            k = spec.max_speed_mps / h_c
            vx_c, vy_c = vx_c * k, vy_c * k
        vz_c = min(max(control.vz_mps, -p.max_descent_mps), p.max_climb_mps)

        if s.landed and not (powered and vz_c > 0.0):
            self._rest(ground, powered, dt)
            self._yaw(control, dt, powered)
            s.sections = 0
            return s
        s.landed = False

        # Desired acceleration from the velocity loop, limited horizontally by max_accel_mps2.
        tau = p.velocity_time_constant_s
        ax_d, ay_d, az_d = (vx_c - s.vx) / tau, (vy_c - s.vy) / tau, (vz_c - s.vz) / tau
        a_h = math.hypot(ax_d, ay_d)
        if a_h > spec.max_accel_mps2:
            k = spec.max_accel_mps2 / a_h
            ax_d, ay_d = ax_d * k, ay_d * k
        az_d = min(max(az_d, -spec.max_accel_mps2), spec.max_accel_mps2)

        # Drag on the velocity through the air.
        wx, wy, wz = env.wind_at(s.x, s.y, s.z)
        rx, ry, rz = s.vx - wx, s.vy - wy, s.vz - wz
        v_air = math.sqrt(rx * rx + ry * ry + rz * rz)
        c = p.drag_coeff_kg_per_m * v_air / m
        adx, ady, adz = -c * rx, -c * ry, -c * rz

        # Thrust (per unit mass) that yields the desired acceleration, within thrust and tilt limits.
        if powered:
            tx, ty, tz = ax_d - adx, ay_d - ady, az_d - adz + g
            tz = min(max(tz, 0.0), self._max_thrust_n / m)
            th = math.hypot(tx, ty)
            th_max = tz * math.tan(p.max_tilt_rad)
            if th > th_max:
                k = th_max / th if th > 0 else 0.0
                tx, ty = tx * k, ty * k
        else:
            tx = ty = tz = 0.0
        ax, ay, az = tx + adx, ty + ady, tz + adz - g

        # Semi-implicit Euler: velocity first, position with the new velocity.
        s.vx += ax * dt
        s.vy += ay * dt
        s.vz += az * dt
        s.x += s.vx * dt
        s.y += s.vy * dt
        s.z += s.vz * dt

        thrust_n = m * math.sqrt(tx * tx + ty * ty + tz * tz)
        drag_n = m * c * v_air
        self.power_w = p.power.power_w(thrust_n, drag_n, v_air, rho) if powered else 0.0
        self._draw(dt)
        self._yaw(control, dt, powered)

        ground = env.height_at(s.x, s.y)
        if s.z <= ground and s.vz <= 0.0:
            if s.vz < -p.crash_speed_mps:
                self.crashed = True
            s.z = ground
            s.vx = s.vy = s.vz = 0.0
            s.landed = True

        s.speed_mps = math.hypot(s.vx, s.vy)
        s.implement_x, s.implement_y = s.x, s.y
        if s.speed_mps > 0.3:
            s.implement_heading_rad = math.atan2(s.vy, s.vx)

        sections = control.sections if (powered and not s.landed) else 0
        payload = self.payload
        if payload is not None and sections:
            sections &= payload.all_sections
            if s.tank_l <= 0.0:
                sections = 0
            else:
                s.tank_l = max(0.0, s.tank_l - payload.flow_per_s(sections, s.speed_mps) * dt)
        s.sections = sections
        return s

    def _rest(self, ground: float, powered: bool, dt: float) -> None:
        s = self.state
        s.z = ground
        s.vx = s.vy = s.vz = s.speed_mps = 0.0
        s.landed = True
        self.power_w = self.params.power.avionics_w if s.armed else 0.0
        self._draw(dt)

    def _draw(self, dt: float) -> None:
        used = self.power_w * dt / 3600.0
        self.energy_used_wh += used
        if self.spec.battery_wh > 0:
            self.state.battery_wh = max(0.0, self.state.battery_wh - used)

    def _yaw(self, control: AirControl, dt: float, powered: bool) -> None:
        s = self.state
        if control.yaw_rad is None or not powered or s.landed:
            s.yaw_rate_rad_s = 0.0
            return
        err = math.remainder(control.yaw_rad - s.heading_rad, TWO_PI)
        lim = self.params.max_yaw_rate_rad_s * dt
        turn = min(max(err, -lim), lim)
        s.heading_rad = math.remainder(s.heading_rad + turn, TWO_PI)
        s.yaw_rate_rad_s = turn / dt
