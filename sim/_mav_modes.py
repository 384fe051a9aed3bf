"""Autopilot personalities: how ArduPilot and PX4 encode flight modes and lay out missions.

Ground stations pick their mode tables and mission quirks from ``HEARTBEAT.autopilot``: an ArduPilot
vehicle numbers its modes per vehicle type (copter AUTO = 3, rover AUTO = 10) and keeps home at mission
seq 0; a PX4 vehicle packs ``main_mode << 16 | sub_mode << 24`` into ``custom_mode`` and starts its mission
at seq 0. A :class:`Personality` holds those conventions as data, and maps every mode onto the
:class:`FlightMode` the simulator flies (a PX4 ``AUTO.LOITER`` and an ArduPilot ``LOITER`` both hold).
The MAVLink driver uses the same tables to command real autopilots, so the two cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from ._mav_proto import MavAutopilot, MavModeFlag, MavType

__all__ = ["ARDUPILOT", "FlightMode", "ModeEntry", "PERSONALITIES", "PX4", "Personality", "personality"]


class FlightMode(str, Enum):
    """What the vehicle does, whatever its autopilot calls it. Also ``TelemetrySample.mode``."""

    MANUAL = "manual"      # pilot control; the simulator has no pilot, so it brakes and holds
    HOLD = "hold"          # hold position (loiter, brake, position control without input)
    AUTO = "auto"          # fly the mission
    GUIDED = "guided"      # go to a target set by the ground station, then hold
    RTL = "rtl"            # return to launch (drones land there; ground vehicles stop)
    LAND = "land"          # descend and land where it is
    TAKEOFF = "takeoff"    # climb to the take-off height, then hold


@dataclass(frozen=True, slots=True)
class ModeEntry:
    """One mode of one autopilot: its wire value, its native name and the behaviour it selects."""

    custom_mode: int
    name: str
    mode: FlightMode


def _px4(main: int, sub: int = 0) -> int:
    return (main << 16) | (sub << 24)


_ARDUCOPTER = (
    ModeEntry(0, "STABILIZE", FlightMode.MANUAL), ModeEntry(2, "ALT_HOLD", FlightMode.MANUAL),
    ModeEntry(3, "AUTO", FlightMode.AUTO), ModeEntry(4, "GUIDED", FlightMode.GUIDED),
    ModeEntry(5, "LOITER", FlightMode.HOLD), ModeEntry(6, "RTL", FlightMode.RTL),
    ModeEntry(9, "LAND", FlightMode.LAND), ModeEntry(16, "POSHOLD", FlightMode.HOLD),
    ModeEntry(17, "BRAKE", FlightMode.HOLD), ModeEntry(21, "SMART_RTL", FlightMode.RTL),
)
_ARDUROVER = (
    ModeEntry(0, "MANUAL", FlightMode.MANUAL), ModeEntry(1, "ACRO", FlightMode.MANUAL),
    ModeEntry(3, "STEERING", FlightMode.MANUAL), ModeEntry(4, "HOLD", FlightMode.HOLD),
    ModeEntry(5, "LOITER", FlightMode.HOLD), ModeEntry(10, "AUTO", FlightMode.AUTO),
    ModeEntry(11, "RTL", FlightMode.RTL), ModeEntry(12, "SMART_RTL", FlightMode.RTL),
    ModeEntry(15, "GUIDED", FlightMode.GUIDED),
)
_PX4_MODES = (
    ModeEntry(_px4(1), "MANUAL", FlightMode.MANUAL), ModeEntry(_px4(2), "ALTCTL", FlightMode.MANUAL),
    ModeEntry(_px4(4, 3), "AUTO.LOITER", FlightMode.HOLD), ModeEntry(_px4(3), "POSCTL", FlightMode.HOLD),
    ModeEntry(_px4(4, 1), "AUTO.READY", FlightMode.HOLD),
    ModeEntry(_px4(4, 2), "AUTO.TAKEOFF", FlightMode.TAKEOFF),
    ModeEntry(_px4(4, 4), "AUTO.MISSION", FlightMode.AUTO), ModeEntry(_px4(4, 5), "AUTO.RTL", FlightMode.RTL),
    ModeEntry(_px4(4, 6), "AUTO.LAND", FlightMode.LAND), ModeEntry(_px4(6), "OFFBOARD", FlightMode.GUIDED),
    ModeEntry(_px4(7), "STABILIZED", FlightMode.MANUAL),
)


@dataclass(frozen=True, slots=True)
class Personality:
    """The conventions of one autopilot family, as a ground station sees them."""

    name: str
    autopilot: MavAutopilot
    home_is_seq0: bool              # ArduPilot: mission item 0 is home and is not flown
    max_mission_items: int          # simulator limit per mission type (uploads beyond it get NO_SPACE)
    param_bytewise: bool            # PX4 sends integer params as their bytes inside the float field
    air_modes: tuple[ModeEntry, ...]
    ground_modes: tuple[ModeEntry, ...]

    def modes(self, air: bool) -> tuple[ModeEntry, ...]:
        return self.air_modes if air else self.ground_modes

    def decode(self, custom_mode: int, air: bool) -> ModeEntry | None:
        """The mode a ``custom_mode`` names, or None when this autopilot has no such mode."""
        for entry in self.modes(air):
            if entry.custom_mode == custom_mode:
                return entry
        return None

    def by_name(self, name: str, air: bool) -> ModeEntry | None:
        key = name.upper()
        for entry in self.modes(air):
            if entry.name == key or entry.name.split(".")[-1] == key:
                return entry
        return None

    def entry(self, mode: FlightMode, air: bool) -> ModeEntry:
        """The canonical native mode for a behaviour (first in the table), e.g. HOLD -> copter LOITER."""
        for entry in self.modes(air):
            if entry.mode is mode:
                return entry
        if mode is FlightMode.TAKEOFF:      # ArduPilot takes off in GUIDED
            return self.entry(FlightMode.GUIDED, air)
        if mode is FlightMode.LAND:         # rovers have no LAND: they stop
            return self.entry(FlightMode.HOLD, air)
        raise KeyError(f"{self.name} has no mode for {mode.value}")

    def from_command(self, p1: float, p2: float, p3: float) -> int | None:
        """``custom_mode`` requested by ``MAV_CMD_DO_SET_MODE(p1 base flags, p2, p3)``; None if not custom."""
        if not int(p1) & MavModeFlag.CUSTOM_MODE_ENABLED:
            return None
        if self.autopilot is MavAutopilot.PX4:
            return _px4(int(p2), int(p3))
        return int(p2)

    def command_params(self, custom_mode: int, armed: bool) -> tuple[float, float, float]:
        """``DO_SET_MODE`` params 1..3 that select ``custom_mode`` on this autopilot."""
        flags = float(MavModeFlag.CUSTOM_MODE_ENABLED | (MavModeFlag.SAFETY_ARMED if armed else 0))
        if self.autopilot is MavAutopilot.PX4:
            return flags, float((custom_mode >> 16) & 0xFF), float((custom_mode >> 24) & 0xFF)
        return flags, float(custom_mode), 0.0

    def mission_offset(self) -> int:
        """Seq of the first item that is flown."""
        return 1 if self.home_is_seq0 else 0


ARDUPILOT = Personality("ardupilot", MavAutopilot.ARDUPILOTMEGA, home_is_seq0=True, max_mission_items=2000,
                        param_bytewise=False, air_modes=_ARDUCOPTER, ground_modes=_ARDUROVER)
PX4 = Personality("px4", MavAutopilot.PX4, home_is_seq0=False, max_mission_items=2000,
                  param_bytewise=True, air_modes=_PX4_MODES, ground_modes=_PX4_MODES)
PERSONALITIES = {p.name: p for p in (ARDUPILOT, PX4)}

AIR_TYPES = frozenset({MavType.QUADROTOR, MavType.HEXAROTOR, MavType.OCTOROTOR, MavType.FIXED_WING})


def personality(name_or_autopilot: str | int) -> Personality:
    """The personality by name (``ardupilot``, ``px4``) or by ``HEARTBEAT.autopilot`` value."""
    if isinstance(name_or_autopilot, str):
        try:
            return PERSONALITIES[name_or_autopilot.lower()]
        except KeyError:
            raise ValueError(f"unknown autopilot {name_or_autopilot!r} "
                             f"(expected one of {', '.join(PERSONALITIES)})") from None
    for p in PERSONALITIES.values():
        if p.autopilot == name_or_autopilot:
            return p
    raise ValueError(f"autopilot type {name_or_autopilot} is neither ArduPilot (3) nor PX4 (12)")

