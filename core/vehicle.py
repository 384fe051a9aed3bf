"""Vehicles: what a machine can do (spec), where it is (state), and how it is driven (controls).

:class:`VehicleSpec` is what planners and the fleet manager need to know about a machine. The simulator's
dynamics models (plugins of the ``agrifleet.vehicles`` group) implement :class:`VehicleModel`: they take a
control (:class:`GroundControl` for tractors and rovers, :class:`AirControl` for multirotors) and advance
their :class:`VehicleState` by a time step. On-board guidance and simulated autopilots produce those
controls; nothing else touches the state.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping, Protocol, runtime_checkable

from .errors import ConfigError

__all__ = ["AirControl", "GroundControl", "VehicleKind", "VehicleModel", "VehicleSpec", "VehicleState"]


class VehicleKind(str, Enum):
    TRACTOR = "tractor"        # ground, Ackermann steering, may tow an implement
    ROVER = "rover"            # small ground robot (ArduPilot Rover style)
    MULTIROTOR = "multirotor"  # spray or survey drone

    @property
    def is_ground(self) -> bool:
        return self is not VehicleKind.MULTIROTOR


def _positive(name: str, value: float, allow_zero: bool = False) -> None:
    ok = math.isfinite(value) and (value >= 0.0 if allow_zero else value > 0.0)
    if not ok:
        raise ConfigError(f"vehicle spec: {name} = {value!r} must be {'>= 0' if allow_zero else '> 0'}")


@dataclass(frozen=True, slots=True)
class VehicleSpec:
    """The planning-relevant figures of one machine. Units are in the names."""

    name: str
    kind: VehicleKind
    min_turn_radius_m: float = 0.0
    reverse_allowed: bool = False
    work_speed_mps: float = 2.5
    transit_speed_mps: float = 4.0
    max_speed_mps: float = 6.0
    max_accel_mps2: float = 1.0
    wheelbase_m: float = 0.0            # ground vehicles
    max_steer_rad: float = 0.0          # ground vehicles
    max_steer_rate_rad_s: float = 0.6   # ground vehicles
    steer_time_constant_s: float = 0.2  # ground vehicles: first-order actuator lag
    hitch_offset_m: float = 0.0         # tractor: rear axle -> hitch point (behind is positive)
    implement_offset_m: float = 0.0     # tractor: hitch -> implement working centre
    empty_mass_kg: float = 0.0
    tank_l: float = 0.0                 # sprayer/drone tank; 0 = none
    battery_wh: float = 0.0             # 0 = fuel or mains, no energy limit modelled
    cruise_alt_m: float = 0.0           # multirotor: default working height above ground
    capabilities: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, VehicleKind):
            try:
                object.__setattr__(self, "kind", VehicleKind(self.kind))
            except ValueError:
                raise ConfigError(f"vehicle spec {self.name!r}: kind {self.kind!r} is not one of "
                                  f"{', '.join(k.value for k in VehicleKind)}") from None
        for name in ("work_speed_mps", "transit_speed_mps", "max_speed_mps", "max_accel_mps2"):
            _positive(name, getattr(self, name))
        for name in ("min_turn_radius_m", "tank_l", "battery_wh", "empty_mass_kg", "cruise_alt_m",
                     "wheelbase_m", "max_steer_rad", "hitch_offset_m", "implement_offset_m"):
            _positive(name, getattr(self, name), allow_zero=True)
        if self.kind.is_ground and self.wheelbase_m > 0 and self.max_steer_rad > 0:
            implied = self.wheelbase_m / math.tan(self.max_steer_rad)
            if self.min_turn_radius_m == 0.0:
                object.__setattr__(self, "min_turn_radius_m", implied)
        object.__setattr__(self, "capabilities", frozenset(self.capabilities) | {
            "ground" if self.kind.is_ground else "air"})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "VehicleSpec":
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"vehicle spec: unknown key(s) {', '.join(unknown)}")
        values = dict(data)
        if "capabilities" in values:
            values["capabilities"] = frozenset(values["capabilities"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["kind"] = self.kind.value
        out["capabilities"] = sorted(self.capabilities)
        return out


@dataclass(slots=True)
class VehicleState:
    """Where a vehicle is and what it carries, in the local frame (x east, y north, z up, metres)."""

    t_s: float = 0.0
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    heading_rad: float = 0.0   # CCW from east
    speed_mps: float = 0.0     # signed along the heading for ground vehicles; horizontal speed for air
    vx: float = 0.0
    vy: float = 0.0
    vz: float = 0.0
    steer_rad: float = 0.0
    yaw_rate_rad_s: float = 0.0
    battery_wh: float = 0.0
    tank_l: float = 0.0
    armed: bool = False
    landed: bool = True
    sections: int = 0          # implement sections switched on
    implement_x: float = 0.0   # working centre of the (towed) implement
    implement_y: float = 0.0
    implement_heading_rad: float = 0.0


@dataclass(frozen=True, slots=True)
class GroundControl:
    """Steering and speed demand for a tractor or rover."""

    steer_rad: float = 0.0
    speed_mps: float = 0.0
    sections: int = 0


@dataclass(frozen=True, slots=True)
class AirControl:
    """Velocity demand (ENU, m/s) and yaw demand for a multirotor; ``None`` yaw keeps the heading."""

    vx_mps: float = 0.0
    vy_mps: float = 0.0
    vz_mps: float = 0.0
    yaw_rad: float | None = None
    sections: int = 0


@runtime_checkable
class VehicleModel(Protocol):
    """Dynamics of one simulated vehicle; plugins of ``agrifleet.vehicles`` provide factories for these."""

    kind: VehicleKind
    spec: VehicleSpec
    state: VehicleState

    def step(self, dt_s: float, control: Any, env: Any) -> VehicleState:
        """Advance by ``dt_s`` under ``control`` in the environment ``env`` (wind, terrain)."""
        ...
