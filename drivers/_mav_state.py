"""What the MAVLink driver learns from the vehicle: identity, mode, arming, position, mission progress.

A mixin of :class:`~agrifleet.drivers.mavlink.MavlinkDriver`. ``_on_message`` runs for every message from
the target system, in the link's reader thread or in a caller's thread during an exchange, and updates the
driver's state under its lock: the autopilot's personality from the first heartbeat, telemetry samples
from ``GLOBAL_POSITION_INT``, ``plan_index`` from ``MISSION_ITEM_REACHED``, the end of a mission (part) from
``MISSION_CURRENT``; and it notices when the vehicle leaves the mission on its own (a failsafe's return to
launch, a pilot's hold).
"""
from __future__ import annotations

import collections
import functools
import logging
import math
import threading
from typing import TYPE_CHECKING, Any, Callable


from agrifleet.core.geo import LocalFrame
from agrifleet.core.plan import Plan
from agrifleet.sim._mav_modes import AIR_TYPES, FlightMode, Personality, personality
from agrifleet.sim._mav_proto import COMP_AUTOPILOT, MavType
from agrifleet.sim._mav_proto import MissionState as MavMissionState

from .base import GnssQuality, MissionState, TelemetrySample

if TYPE_CHECKING:
    from ._mav_client import MavClient
    from ._mission_items import MissionPart

__all__ = ["VehicleWatch"]

logger = logging.getLogger(__name__)

GNSS = {0: GnssQuality.NONE, 1: GnssQuality.NONE, 2: GnssQuality.SINGLE, 3: GnssQuality.SINGLE,
        4: GnssQuality.DGPS, 5: GnssQuality.RTK_FLOAT, 6: GnssQuality.RTK_FIXED}
MODE_SETTLE_S = 1.0            # a mode the vehicle reports for this long is its own decision


@functools.lru_cache(maxsize=4)
def _frame_at(lat_e7: int, lon_e7: int) -> LocalFrame:
    """The frame centred on a home position: built once, not at every heartbeat (a projection costs ms)."""
    return LocalFrame(lat_e7 * 1e-7, lon_e7 * 1e-7)


class VehicleWatch:
    """Vehicle state kept from incoming messages (see the module docstring)."""

    vehicle_id: str
    personality: Personality | None
    vehicle_type: int
    autopilot_capabilities: int
    _client: "MavClient | None"
    _want_system: int
    _lock: threading.RLock
    _cond: threading.Condition
    _samples: collections.deque[TelemetrySample]
    _hb: Any
    _hb_t: float
    _status: dict[str, Any]
    _mission: MissionState
    _plan: Plan | None
    _frame: LocalFrame | None
    _parts: "list[MissionPart]"
    _part: int
    _plan_index: int
    _seen_active: bool
    _reached_last: bool
    _chain_pending: bool
    _mode_since: tuple[tuple[FlightMode | None, bool], float]
    _clock: Callable[[], float]

    @property
    def air(self) -> bool:
        return self.vehicle_type in AIR_TYPES

    @property
    def armed(self) -> bool:
        hb = self._hb
        return bool(hb is not None and hb.base_mode & 128)

    # -- incoming messages (reader thread, or the caller during an exchange) --------------------------
    def _on_message(self, msg: Any) -> None:
        kind = msg.get_type()
        client = self._client
        if kind == "HEARTBEAT":
            if msg.get_srcComponent() != COMP_AUTOPILOT or msg.type == MavType.GCS:
                return
            if client is not None and client.target_system == 0:
                if self._want_system and msg.get_srcSystem() != self._want_system:
                    return
                try:
                    self.personality = personality(int(msg.autopilot))
                except ValueError:
                    return
                self.vehicle_type = int(msg.type)
                client.target_system = msg.get_srcSystem()
            with self._lock:
                self._hb, self._hb_t = msg, self._clock()
                self._watch_mode()
            return
        if kind in ("SYS_STATUS", "GPS_RAW_INT", "HOME_POSITION", "SERVO_OUTPUT_RAW"):
            with self._lock:
                self._status[kind] = msg
        elif kind == "AUTOPILOT_VERSION":
            self.autopilot_capabilities = int(msg.capabilities)
        elif kind == "GLOBAL_POSITION_INT":
            self._sample(msg)
        elif kind == "MISSION_ITEM_REACHED":
            self._reached(msg.seq)
        elif kind == "MISSION_CURRENT":
            self._current(msg)
        elif kind == "STATUSTEXT":
            logger.info("mavlink %s: vehicle says %s", self.vehicle_id, msg.text)

    def _flight_mode(self) -> FlightMode | None:
        if self._hb is None or self.personality is None:
            return None
        entry = self.personality.decode(int(self._hb.custom_mode), self.air)
        return entry.mode if entry else None

    def _watch_mode(self) -> None:
        """Follow what the vehicle decided on its own (failsafes, a pilot) while a mission runs."""
        mode = self._flight_mode()
        armed = bool(self._hb.base_mode & 128)
        if (mode, armed) != self._mode_since[0]:     # a change must last before it counts: the vehicle
            self._mode_since = ((mode, armed), self._clock())   # may be reporting the mission's end
            return
        if self._clock() - self._mode_since[1] < MODE_SETTLE_S:
            return
        if self._mission is MissionState.ACTIVE:
            if mode in (FlightMode.RTL, FlightMode.LAND):
                self._mission = MissionState.RETURNING
                logger.warning("mavlink %s: the vehicle left the mission for %s", self.vehicle_id, mode.value)
            elif mode is FlightMode.HOLD:
                self._mission = MissionState.PAUSED
            elif not armed:
                self._mission = MissionState.FAILED
        elif self._mission is MissionState.RETURNING and (not armed or self._arrived_home()):
            self._mission = MissionState.COMPLETE

    def _arrived_home(self) -> bool:
        home = self._status.get("HOME_POSITION")
        pos = self._status.get("_pos")
        if self.air or home is None or pos is None:
            return False
        x, y = _frame_at(home.latitude, home.longitude).point_to_local(pos.lon * 1e-7, pos.lat * 1e-7)
        return math.hypot(x, y) < 3.0 and math.hypot(pos.vx, pos.vy) < 10

    def _reached(self, seq: int) -> None:
        with self._lock:
            if self._mission not in (MissionState.ACTIVE, MissionState.PAUSED) or not self._parts:
                return
            part = self._parts[self._part]
            if seq < part.first_seq or seq >= len(part.items):
                return
            self._seen_active = True
            self._plan_index = max(self._plan_index, part.sample_of(seq))
            if seq == len(part.items) - 1:
                self._reached_last = True

    def _current(self, msg: Any) -> None:
        with self._lock:
            if self._mission is not MissionState.ACTIVE or not self._parts:
                return
            state = int(getattr(msg, "mission_state", 0))
            if state == MavMissionState.ACTIVE:
                self._seen_active = True
            done = ((state == MavMissionState.COMPLETE and self._seen_active)
                    or (state == 0 and self._reached_last))      # no mission_state: the last item reached
            if done:
                self._part_done()

    def _part_done(self) -> None:
        if self._part + 1 < len(self._parts):
            self._chain_pending = True      # uploaded by telemetry() in the caller's thread
            return
        self._mission = MissionState.COMPLETE
        self._plan_index = self._parts[-1].last_sample

    def _sample(self, pos: Any) -> None:
        with self._lock:
            self._status["_pos"] = pos
            hb, status, gps = self._hb, self._status.get("SYS_STATUS"), self._status.get("GPS_RAW_INT")
            lat, lon = pos.lat * 1e-7, pos.lon * 1e-7
            x = y = math.nan
            if self._frame is not None:
                x, y = self._frame.point_to_local(lon, lat)
            hdg = math.nan if pos.hdg == 65535 else \
                math.remainder(math.pi / 2 - math.radians(pos.hdg / 100.0), 2 * math.pi)
            battery = math.nan if status is None or status.battery_remaining < 0 \
                else float(status.battery_remaining)
            mode = self._flight_mode()
            sections = 0
            if self._plan is not None and self._mission is MissionState.ACTIVE and self._plan_index >= 0:
                sections = int(self._plan.path["sections"][min(self._plan_index, len(self._plan) - 1)])
            sample = TelemetrySample(
                t_mono_s=self._clock(), x=x, y=y, z=pos.relative_alt / 1000.0, lat_deg=lat, lon_deg=lon,
                heading_rad=hdg, speed_mps=math.hypot(pos.vx, pos.vy) / 100.0, battery_pct=battery,
                mode=mode.value if mode else "", armed=bool(hb is not None and hb.base_mode & 128),
                gnss=GNSS.get(gps.fix_type, GnssQuality.SINGLE) if gps is not None else GnssQuality.NONE,
                mission=self._mission, plan_index=self._plan_index, sections=sections)
            self._samples.append(sample)
            self._cond.notify_all()
