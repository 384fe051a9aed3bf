"""What the simulated autopilot reports about itself: arming, mode flags, health, battery, landed state,
mission progress. A mixin of :class:`~agrifleet.sim.autopilot.SimAutopilot`, read by the telemetry
builders (:mod:`._mav_telemetry`); kept apart so that the autopilot module holds behaviour only.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ._mav_guidance import Climb, Estimate, Land, Motion
from ._mav_modes import FlightMode, ModeEntry
from ._mav_params import pack_voltage
from ._mav_proto import LandedState, MavModeFlag, MavState, MissionState, SensorBit
from ._mav_telemetry import SENSORS

if TYPE_CHECKING:
    from agrifleet.core.vehicle import VehicleModel, VehicleSpec

    from ._mav_failsafe import Failsafes
    from ._mav_nav import MissionExecutor
    from ._mav_outputs import Outputs

__all__ = ["StatusMixin"]

_AUTO_LIKE = frozenset({FlightMode.AUTO, FlightMode.RTL, FlightMode.LAND, FlightMode.TAKEOFF,
                        FlightMode.GUIDED, FlightMode.HOLD})


class StatusMixin:
    """Reported status, from the autopilot's state. Every property here is cheap: telemetry reads them at
    the message rates."""

    model: "VehicleModel"
    spec: "VehicleSpec"
    air: bool
    mode: ModeEntry
    behaviour: FlightMode
    failsafes: "Failsafes"
    executor: "MissionExecutor"
    outputs: "Outputs"
    fix_type: int
    home_lat_lon_alt: tuple[float, float, float]
    _est: Estimate
    _lat_lon_e7: tuple[int, int]
    _active_motion: Motion | None
    _paused: bool

    if TYPE_CHECKING:
        def setting(self, key: str, default: float = math.nan) -> float: ...

    @property
    def estimate(self) -> Estimate:
        return self._est

    @property
    def lat_lon_e7(self) -> tuple[int, int]:
        return self._lat_lon_e7

    @property
    def rel_alt_m(self) -> float:
        return self._est.z

    @property
    def alt_amsl_m(self) -> float:
        return self.home_lat_lon_alt[2] + self._est.z

    @property
    def state(self) -> Any:
        return self.model.state

    @property
    def armed(self) -> bool:
        return bool(self.model.state.armed)

    @property
    def base_mode(self) -> int:
        flags = MavModeFlag.CUSTOM_MODE_ENABLED | MavModeFlag.STABILIZE_ENABLED
        if self.behaviour in _AUTO_LIKE:
            flags |= MavModeFlag.GUIDED_ENABLED | MavModeFlag.AUTO_ENABLED
        if self.armed:
            flags |= MavModeFlag.SAFETY_ARMED
        return int(flags)

    @property
    def custom_mode(self) -> int:
        return self.mode.custom_mode

    @property
    def system_status(self) -> int:
        if self.failsafes.active:
            return int(MavState.CRITICAL)
        return int(MavState.ACTIVE if self.armed else MavState.STANDBY)

    @property
    def battery_frac(self) -> float:
        """State of charge, 0..1; NaN for a vehicle without a modelled battery."""
        cap = self.spec.battery_wh
        return math.nan if cap <= 0 else min(1.0, max(0.0, self.model.state.battery_wh / cap))

    @property
    def battery_voltage_v(self) -> float:
        return pack_voltage(self.air, self.battery_frac)

    @property
    def sensor_health(self) -> int:
        health = int(SENSORS | SensorBit.GEOFENCE)
        if "fence" in self.failsafes.active:
            health &= ~int(SensorBit.GEOFENCE)
        if "battery" in self.failsafes.active:
            health &= ~int(SensorBit.BATTERY | SensorBit.PREARM_CHECK)
        if self.fix_type < 3:
            health &= ~int(SensorBit.GPS)
        return health

    @property
    def fence_enabled(self) -> bool:
        """A fence is switched on and has something to check (SYS_STATUS "enabled" bit)."""
        setting = self.setting
        if setting("fence_enable", 1.0) <= 0:
            return False
        return setting("fence_radius_m", 0.0) > 0 or setting("fence_alt_max_m", 0.0) > 0 \
            or self.failsafes.fence.has_zones

    @property
    def landed_state(self) -> int:
        if not self.air or self.model.state.landed:
            return int(LandedState.ON_GROUND)
        if isinstance(self._active_motion, Climb) and not self._active_motion.done:
            return int(LandedState.TAKEOFF)
        if isinstance(self._active_motion, Land):
            return int(LandedState.LANDING)
        return int(LandedState.IN_AIR)

    @property
    def mission_report(self) -> tuple[int, int, MissionState, int]:
        """``MISSION_CURRENT`` fields: seq, total, mission_state, mission_mode (1 in AUTO, 2 suspended)."""
        ex = self.executor
        state = ex.state
        if self._paused and state is MissionState.ACTIVE:
            state = MissionState.PAUSED
        in_auto = 1 if self.behaviour is FlightMode.AUTO else 2
        return min(ex.seq, max(len(ex.items) - 1, 0)), ex.total, state, in_auto

    @property
    def servo_pwm(self) -> list[int]:
        return self.outputs.servo_pwm
