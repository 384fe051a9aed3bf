"""Time and energy of a multirotor flying a plan, with the simulator's own power model.

The power is :class:`agrifleet.sim.energy.RotorPower` (momentum theory) for the thrust that holds the drone
up against gravity and the air drag of :class:`agrifleet.sim.vehicles.MultirotorParams`, so the planner
and the simulated drone agree on what a flight costs. The time of a stretch is its length over its planned
speed, plus what the on-board guidance adds: it brakes to a stop at every sharp corner (a heading change
over 30 degrees, :class:`agrifleet.core.guidance.AirPathFollower`) at ``stop_decel_mps2`` and speeds up
again at the airframe's acceleration, after the velocity loop's lag.

Power grows with mass (induced power goes with thrust to the 1.5), and a spray drone gets lighter as it
works. For fast sums over many candidate sorties, the power at a given speed is taken on the chord between
the empty and the full drone: the curve is convex in mass, so the chord lies above it and the estimate
never promises more than the battery gives.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from agrifleet.core.errors import ConfigError
from agrifleet.core.guidance import GuidanceParams
from agrifleet.core.plan import segment_lengths
from agrifleet.core.vehicle import VehicleSpec
from agrifleet.sim.energy import RotorPower
from agrifleet.sim.vehicles import MultirotorParams
from agrifleet.sim.world import AIR_DENSITY_KG_M3, GRAVITY_MPS2

__all__ = ["FlightModel", "corner_samples"]

_AIRFRAME = MultirotorParams()
_GUIDANCE = GuidanceParams()
CORNER_RAD = math.radians(30.0)  # AirPathFollower's default corner_rad: sharper bends are stop points


def corner_samples(x: np.ndarray, y: np.ndarray, corner_rad: float = CORNER_RAD) -> np.ndarray:
    """Indices of interior samples where the path bends by more than ``corner_rad`` (stop points).

    Zero-length stretches are skipped, as the guidance skips them."""
    d = np.column_stack([np.diff(x), np.diff(y)])
    seg = np.hypot(d[:, 0], d[:, 1])
    real = np.flatnonzero(seg > 1e-9)
    if len(real) < 2:
        return np.zeros(0, dtype=np.int64)
    h = np.arctan2(d[real, 1], d[real, 0])
    turn = np.abs(np.angle(np.exp(1j * np.diff(h))))
    return real[1:][turn > corner_rad].astype(np.int64)


@dataclass(frozen=True, slots=True)
class FlightModel:
    """How long a multirotor takes and how much energy it draws. ``spec`` gives masses, speeds, tank and
    battery; ``density_kg_per_l`` turns tank litres into mass."""

    spec: VehicleSpec
    density_kg_per_l: float = 1.0
    rotor: RotorPower = field(default_factory=lambda: _AIRFRAME.power)
    drag_coeff_kg_per_m: float = _AIRFRAME.drag_coeff_kg_per_m
    velocity_lag_s: float = _AIRFRAME.velocity_time_constant_s
    stop_decel_mps2: float = _GUIDANCE.stop_decel_mps2
    climb_mps: float = 2.0    # the sim driver's take-off climb rate
    descent_mps: float = 1.0  # and its landing descent rate
    gravity_mps2: float = GRAVITY_MPS2
    air_density_kg_m3: float = AIR_DENSITY_KG_M3

    def __post_init__(self) -> None:
        if self.spec.empty_mass_kg <= 0:
            raise ConfigError(f"vehicle {self.spec.name!r}: a drone's energy needs empty_mass_kg > 0")
        for name in ("density_kg_per_l", "stop_decel_mps2", "climb_mps", "descent_mps"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ConfigError(f"flight model: {name} = {v!r} must be > 0")

    @property
    def empty_kg(self) -> float:
        return self.spec.empty_mass_kg

    @property
    def full_kg(self) -> float:
        return self.spec.empty_mass_kg + self.spec.tank_l * self.density_kg_per_l

    # --- power ----------------------------------------------------------------------------------------
    def power_w(self, mass_kg: float, speed_mps: float) -> float:
        """Battery power in level flight at ``speed_mps`` in still air (hover at 0)."""
        drag = self.drag_coeff_kg_per_m * speed_mps * speed_mps
        thrust = math.hypot(mass_kg * self.gravity_mps2, drag)
        return self.rotor.power_w(thrust, drag, speed_mps, self.air_density_kg_m3)

    def power_chord(self, speeds_mps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per speed: power with an empty tank (W) and its growth per kg of load (W/kg), on the chord to
        the full tank (an upper bound in between)."""
        speeds = np.abs(np.asarray(speeds_mps, dtype=float))
        uniq, inv = np.unique(speeds, return_inverse=True)
        empty = np.array([self.power_w(self.empty_kg, v) for v in uniq])
        load = self.full_kg - self.empty_kg
        if load > 0:
            full = np.array([self.power_w(self.full_kg, v) for v in uniq])
            slope = (full - empty) / load
        else:
            slope = np.zeros_like(empty)
        return empty[inv].reshape(speeds.shape), slope[inv].reshape(speeds.shape)

    # --- time -----------------------------------------------------------------------------------------
    def stop_s(self, speed_in_mps: float | np.ndarray, speed_out_mps: float | np.ndarray) -> np.ndarray:
        """Time a stop costs beyond flying through at speed: braking into it and speeding up again."""
        return self._brake_s(np.asarray(speed_in_mps)) + self._start_s(np.asarray(speed_out_mps))

    def _brake_s(self, speed_mps: np.ndarray) -> np.ndarray:
        return speed_mps / (2.0 * self.stop_decel_mps2)

    def _start_s(self, speed_mps: np.ndarray) -> np.ndarray:
        return speed_mps / (2.0 * max(self.spec.max_accel_mps2, 1e-6)) + self.velocity_lag_s

    def vertical_s(self, height_m: float) -> tuple[float, float]:
        """Take-off climb and landing descent times for a flying height (with the last metre slowed)."""
        h = max(height_m, 0.0)
        return h / self.climb_mps + 1.0, h / self.descent_mps + 1.0

    def stretch_times(self, path: np.ndarray) -> np.ndarray:
        """Seconds for each stretch ``i -> i+1``: length over speed, plus the stops at sharp corners (the
        braking charged to the stretch into the corner, the speeding up to the stretch out of it)."""
        if len(path) < 2:
            return np.zeros(0)
        speed = np.maximum(np.abs(path["speed"][:-1].astype(float)), 1e-3)
        t = segment_lengths(path) / speed
        corners = corner_samples(path["x"], path["y"])
        if len(corners):
            np.add.at(t, corners - 1, self._brake_s(speed[corners - 1]))
            np.add.at(t, corners, self._start_s(speed[corners]))
        return t
