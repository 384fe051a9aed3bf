"""Modes, arming and failsafe actions of the simulated autopilot (a mixin of
:class:`~agrifleet.sim.autopilot.SimAutopilot`).

A mode change sets the native mode the heartbeat reports and the *behaviour* the vehicle flies (they
differ where a firmware does one thing in another's mode: ArduPilot takes off in GUIDED), and starts the
motion that behaviour needs: the mission, a hold, a return to launch, a landing, a take-off. Arming follows
the common rules of both firmwares (not in RTL or LAND, not below the battery failsafe level, not in the
air when disarming unless forced) and sets home where the vehicle stands, as both firmwares do.
"""
from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from ._mav_failsafe import Failsafes
from ._mav_guidance import Climb, Estimate, Hold, Land, Motion
from ._mav_modes import FlightMode, ModeEntry, Personality
from ._mav_params import FailsafeAction
from ._mav_proto import MavResult, MavSeverity, MissionState, MsgId

if TYPE_CHECKING:
    from agrifleet.core.vehicle import VehicleModel

    from ._mav_nav import MissionExecutor
    from ._mav_outputs import Outputs

__all__ = ["ModeControl"]

logger = logging.getLogger(__name__)


class ModeControl:
    """Mode changes, arming and failsafe actions (see the module docstring)."""

    vehicle_id: str
    air: bool
    model: "VehicleModel"
    personality: Personality
    mode: ModeEntry
    behaviour: FlightMode
    executor: "MissionExecutor"
    outputs: "Outputs"
    failsafes: Failsafes
    home_xyz: tuple[float, float, float]
    home_lat_lon_alt: tuple[float, float, float]
    _motion: Motion | None
    _paused: bool
    _est: Estimate
    _lat_lon_e7: tuple[int, int]

    if TYPE_CHECKING:
        @property
        def armed(self) -> bool: ...
        @property
        def battery_frac(self) -> float: ...
        def setting(self, key: str, default: float = math.nan) -> float: ...
        def statustext(self, severity: MavSeverity, text: str) -> None: ...
        def send_message(self, msg_id: int, reply: bool = False) -> bool: ...
        def return_motion(self) -> Motion: ...

    def set_mode(self, entry: ModeEntry, reason: str = "", behaviour: FlightMode | None = None) -> MavResult:
        """Switch to a native mode. ``behaviour`` overrides what it does (ArduPilot takes off in GUIDED)."""
        mode = behaviour or entry.mode
        if mode is FlightMode.AUTO and self.executor.total == 0:
            self.statustext(MavSeverity.WARNING, "Mode change to AUTO failed: no mission")
            return MavResult.DENIED
        if mode in (FlightMode.TAKEOFF, FlightMode.LAND) and not self.air:
            return MavResult.UNSUPPORTED
        was, was_mode = self.mode, self.behaviour
        if was_mode is FlightMode.AUTO and mode is not FlightMode.AUTO:
            if mode is FlightMode.HOLD:
                self.executor.pause()
            else:
                self.executor.interrupt()
        self.mode, self.behaviour = entry, mode
        self._paused = False
        est = self._est
        if mode is FlightMode.AUTO:
            if was_mode is not FlightMode.AUTO or self.executor.state is MissionState.COMPLETE:
                self.executor.start()
            self._motion = None
        elif mode is FlightMode.RTL:
            self.outputs.all_off()
            self._motion = self.return_motion()
        elif mode is FlightMode.LAND:
            self.outputs.all_off()
            self._motion = Land(est.x, est.y, self.setting("land_speed_mps", 0.7))
        elif mode is FlightMode.TAKEOFF:
            self._motion = Climb(est.x, est.y, max(self.setting("takeoff_alt_m", 2.5), 1.0),
                                 self.setting("climb_speed_mps", 2.5))
        elif was_mode is not mode or self._motion is None:
            self._motion = Hold(self.air, est.x, est.y, 0.0 if est.landed else est.z)
        if was != entry:
            logger.info("%s: mode %s -> %s (%s)", self.vehicle_id, was.name, entry.name, reason)
            self.send_message(MsgId.HEARTBEAT)
        return MavResult.ACCEPTED

    def set_flight_mode(self, mode: FlightMode, reason: str) -> MavResult:
        return self.set_mode(self.personality.entry(mode, self.air), reason, mode)

    def arm(self, force: bool = False) -> MavResult:
        if self.armed:
            return MavResult.ACCEPTED
        if self.behaviour in (FlightMode.RTL, FlightMode.LAND) and not force:
            self.statustext(MavSeverity.CRITICAL, f"Arm: mode {self.mode.name} not armable")
            return MavResult.DENIED
        low = Failsafes.battery_low_frac(self.setting)
        frac = self.battery_frac
        if not force and not math.isnan(frac) and not math.isnan(low) and frac <= low:
            self.statustext(MavSeverity.CRITICAL, "Arm: battery below the failsafe level")
            return MavResult.DENIED
        if not self.model.arm():  # type: ignore[attr-defined]
            self.statustext(MavSeverity.CRITICAL, "Arm: motors refused (battery empty)")
            return MavResult.FAILED
        est = self._est
        self.home_xyz = (est.x, est.y, self.home_xyz[2])
        lat, lon = self._lat_lon_e7
        self.home_lat_lon_alt = (lat * 1e-7, lon * 1e-7, self.home_lat_lon_alt[2])
        self.failsafes.reset()
        self._motion = None
        if self.behaviour is FlightMode.AUTO:
            self.executor.start()
        self.send_message(MsgId.HEARTBEAT)
        self.send_message(MsgId.HOME_POSITION)
        return MavResult.ACCEPTED

    def disarm(self, force: bool = False, reason: str = "command") -> MavResult:
        if not self.armed:
            return MavResult.ACCEPTED
        state = self.model.state
        if self.air and not state.landed and not force:
            self.statustext(MavSeverity.CRITICAL, "Disarm: in the air (force it to cut the motors)")
            return MavResult.DENIED
        if not self.model.disarm():  # type: ignore[attr-defined]
            state.armed = False      # a forced kill in the air: the model falls
        self.outputs.all_off()
        self._motion = None
        logger.info("%s: disarmed (%s)", self.vehicle_id, reason)
        self.send_message(MsgId.HEARTBEAT)
        return MavResult.ACCEPTED

    def _failsafe(self, event: Any) -> None:
        self.statustext(MavSeverity.CRITICAL, f"Failsafe {event.kind}: {event.action.name}")
        action = event.action
        if action is FailsafeAction.NONE:
            return
        if action is FailsafeAction.LAND and self.air:
            self.set_flight_mode(FlightMode.LAND, f"{event.kind} failsafe")
        elif action is FailsafeAction.HOLD or (action is FailsafeAction.LAND and not self.air):
            self.outputs.all_off()
            self.set_flight_mode(FlightMode.HOLD, f"{event.kind} failsafe")
        else:
            self.set_flight_mode(FlightMode.RTL, f"{event.kind} failsafe")
