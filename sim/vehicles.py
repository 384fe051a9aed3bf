"""Simulated vehicle dynamics behind the :class:`~agrifleet.core.vehicle.VehicleModel` protocol.

Three models, registered in the ``agrifleet.vehicles`` entry-point group under their kind:

- :class:`TractorModel` (and :class:`RoverModel`): kinematic bicycle on the rear axle with first-order
  steering lag and a steering rate limit, acceleration and braking limits, optional slip on slopes
  (:class:`SlipParams`), and a towed or mounted implement whose working centre is
  ``state.implement_x/_y`` (the point the coverage raster paints). Commanded with ``GroundControl``.
- :class:`MultirotorModel`: 3-D point mass following ``AirControl`` velocity demands, with tilt, climb,
  acceleration and yaw-rate limits, quadratic drag in the wind, take-off and landing, and a battery drawn
  by the rotor power of the current mass (:class:`~agrifleet.sim.energy.RotorPower`); a spray tank
  (:class:`~agrifleet.sim.energy.Payload`) drains with the application rate, so the drone gets lighter.

Every model: ``model.step(dt_s, control, env) -> state`` (``env`` is the world, or
:data:`~agrifleet.sim.world.CALM`), ``model.arm()`` / ``model.disarm()``, ``model.place(x, y, heading)``.
A model that is not armed stands still (ground) or stays on the ground (air): the safe default.
"""
from __future__ import annotations

import math
from typing import Any

from agrifleet.core.errors import ConfigError
from agrifleet.core.vehicle import VehicleKind, VehicleModel, VehicleSpec

from ._multirotor import MultirotorModel, MultirotorParams
from ._tractor import GroundVehicleModel, RoverModel, SlipParams, TractorModel
from .energy import Payload, RotorPower

__all__ = ["EXAMPLE_DRONE", "EXAMPLE_ROVER", "EXAMPLE_TRACTOR", "GroundVehicleModel", "MultirotorModel",
           "MultirotorParams", "Payload", "RotorPower", "RoverModel", "SlipParams", "TractorModel",
           "model_for"]

EXAMPLE_TRACTOR = VehicleSpec(
    name="tractor", kind=VehicleKind.TRACTOR, wheelbase_m=2.8, max_steer_rad=math.radians(35.0),
    max_steer_rate_rad_s=math.radians(30.0), steer_time_constant_s=0.15, hitch_offset_m=1.2,
    implement_offset_m=3.0, work_speed_mps=2.5, transit_speed_mps=4.0, max_speed_mps=8.0,
    max_accel_mps2=0.8, empty_mass_kg=6500.0, tank_l=3000.0, reverse_allowed=True,
    capabilities=frozenset({"spray", "reverse"}))
"""A 120 kW tractor towing a 3000 l trailed sprayer (turning radius 4.0 m)."""

EXAMPLE_ROVER = VehicleSpec(
    name="rover", kind=VehicleKind.ROVER, wheelbase_m=0.9, max_steer_rad=math.radians(30.0),
    max_steer_rate_rad_s=math.radians(60.0), steer_time_constant_s=0.1, work_speed_mps=1.5,
    transit_speed_mps=2.0, max_speed_mps=3.0, max_accel_mps2=1.0, empty_mass_kg=120.0, battery_wh=2000.0,
    reverse_allowed=True)
"""A small weeding robot."""

EXAMPLE_DRONE = VehicleSpec(
    name="drone", kind=VehicleKind.MULTIROTOR, work_speed_mps=5.0, transit_speed_mps=8.0, max_speed_mps=10.0,
    max_accel_mps2=3.0, empty_mass_kg=25.0, tank_l=20.0, battery_wh=1200.0, cruise_alt_m=3.0,
    capabilities=frozenset({"spray"}))
"""A 20 l spray drone (45 kg take-off mass)."""

_MODELS: dict[VehicleKind, type] = {
    VehicleKind.TRACTOR: TractorModel,
    VehicleKind.ROVER: RoverModel,
    VehicleKind.MULTIROTOR: MultirotorModel,
}


def model_for(spec: VehicleSpec, **options: Any) -> VehicleModel:
    """The built-in model for ``spec.kind``, constructed with ``options`` (payload, slip, params, ...)."""
    try:
        cls = _MODELS[spec.kind]
    except KeyError:
        raise ConfigError(f"vehicle {spec.name!r}: no built-in model for kind {spec.kind.value!r}") from None
    try:
        return cls(spec, **options)
    except TypeError as exc:
        raise ConfigError(f"vehicle {spec.name!r}: bad model option ({exc})") from None
