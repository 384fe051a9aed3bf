"""The simulated autopilot's parameters: a small table per personality and the MAVLink PARAM service.

Ground stations fetch every parameter when they connect (MAVProxy does, after its FTP attempt times out)
and set a few: speeds, take-off and return heights, failsafe actions and timeouts, the geofence. Each row
names the native parameter (``WPNAV_SPEED`` in cm/s on ArduCopter, ``MPC_XY_CRUISE`` in m/s on PX4) and the
*setting* it drives in the simulator, with the scale between them, so the flight code reads
``settings["cruise_speed_mps"]`` whatever the autopilot. Failsafe action parameters map their native values
onto :class:`FailsafeAction`.

Defaults are the autopilots' where a simulator user would expect them, with one deliberate difference:
the ground-station link failsafe is enabled by default (ArduPilot and PX4 ship it disabled), because a
farm robot that loses its operator must not carry on unattended.
"""
from __future__ import annotations

import logging
import math
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Callable, Iterator, Mapping

from ._mav_proto import MavParamType

__all__ = ["FailsafeAction", "ParamSpec", "ParamStore", "param_table"]

logger = logging.getLogger(__name__)


class FailsafeAction(IntEnum):
    NONE = 0
    HOLD = 1
    RTL = 2
    LAND = 3


_AP_COPTER_FS = {0: FailsafeAction.NONE, 4: FailsafeAction.LAND, 5: FailsafeAction.LAND}  # others: RTL
_AP_COPTER_BATT = {0: FailsafeAction.NONE, 1: FailsafeAction.LAND, 4: FailsafeAction.LAND}
_AP_COPTER_FENCE = {0: FailsafeAction.NONE, 2: FailsafeAction.LAND, 4: FailsafeAction.LAND}
_AP_ROVER_ACT = {0: FailsafeAction.NONE, 1: FailsafeAction.RTL, 2: FailsafeAction.HOLD, 3: FailsafeAction.RTL,
                 4: FailsafeAction.HOLD}
_PX4_DLL = {0: FailsafeAction.NONE, 1: FailsafeAction.HOLD, 2: FailsafeAction.RTL, 3: FailsafeAction.LAND}
_PX4_BAT = {0: FailsafeAction.NONE, 2: FailsafeAction.LAND, 3: FailsafeAction.RTL}
_PX4_GF = {0: FailsafeAction.NONE, 1: FailsafeAction.NONE, 2: FailsafeAction.HOLD, 3: FailsafeAction.RTL,
           5: FailsafeAction.LAND}


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter: native name, default, wire type, allowed range, and the setting it drives."""

    name: str
    default: float
    ptype: MavParamType = MavParamType.REAL32
    lo: float = -math.inf
    hi: float = math.inf
    setting: str = ""               # simulator setting it drives ("" = informational)
    scale: float = 1.0              # setting = value * scale
    actions: Mapping[int, FailsafeAction] | None = None   # native value -> action (others: RTL)
    readonly: bool = False

    def __post_init__(self) -> None:
        if len(self.name) > 16:
            raise ValueError(f"parameter name {self.name!r} is longer than MAVLink's 16 characters")
        if not self.lo <= self.default <= self.hi:
            raise ValueError(f"parameter {self.name}: default {self.default} outside [{self.lo}, {self.hi}]")

    @property
    def is_int(self) -> bool:
        return self.ptype is not MavParamType.REAL32

    def to_setting(self, value: float) -> float:
        if self.actions is not None:
            return float(self.actions.get(int(value), FailsafeAction.RTL))
        return value * self.scale


I32 = MavParamType.INT32
I8 = MavParamType.INT8


def _ardupilot(air: bool, sysid: int, capacity_mah: float, cruise_mps: float) -> list[ParamSpec]:
    common = [
        ParamSpec("SYSID_THISMAV", sysid, I32, 1, 250, readonly=True),
        ParamSpec("BATT_CAPACITY", round(capacity_mah), I32, 0, 1e7, "battery_capacity_mah"),
        ParamSpec("BATT_LOW_MAH", round(0.2 * capacity_mah), I32, 0, 1e7, "battery_low_mah"),
        ParamSpec("FENCE_ENABLE", 0, I8, 0, 1, "fence_enable"),
        ParamSpec("FENCE_TYPE", 7, I8, 0, 15, "fence_type"),
        ParamSpec("FENCE_RADIUS", 300.0, lo=30, hi=10000, setting="fence_radius_m"),
    ]
    if air:
        return common + [
            ParamSpec("WPNAV_SPEED", round(cruise_mps * 100), lo=20, hi=2000, setting="cruise_speed_mps",
                      scale=0.01),
            ParamSpec("WPNAV_SPEED_UP", 250, lo=10, hi=1000, setting="climb_speed_mps", scale=0.01),
            ParamSpec("WPNAV_RADIUS", 200, lo=5, hi=1000, setting="wp_radius_m", scale=0.01),
            ParamSpec("LAND_SPEED", 50, lo=30, hi=200, setting="land_speed_mps", scale=0.01),
            ParamSpec("PILOT_TKOFF_ALT", 250, lo=0, hi=1000, setting="takeoff_alt_m", scale=0.01),
            ParamSpec("RTL_ALT", 1500, lo=200, hi=300000, setting="rtl_alt_m", scale=0.01),
            ParamSpec("FS_GCS_ENABLE", 1, I8, 0, 7, "gcs_action", actions=_AP_COPTER_FS),
            ParamSpec("FS_GCS_TIMEOUT", 5.0, lo=2, hi=120, setting="gcs_timeout_s"),
            ParamSpec("BATT_FS_LOW_ACT", 2, I8, 0, 5, "battery_action", actions=_AP_COPTER_BATT),
            ParamSpec("FENCE_ACTION", 1, I8, 0, 5, "fence_action", actions=_AP_COPTER_FENCE),
            ParamSpec("FENCE_ALT_MAX", 100.0, lo=10, hi=1000, setting="fence_alt_max_m"),
        ]
    return common + [
        ParamSpec("CRUISE_SPEED", cruise_mps, lo=0, hi=100, setting="cruise_speed_mps"),
        ParamSpec("WP_RADIUS", 2.0, lo=0.1, hi=100, setting="wp_radius_m"),
        ParamSpec("FS_GCS_ENABLE", 1, I8, 0, 2, "gcs_enable"),
        ParamSpec("FS_ACTION", 2, I8, 0, 4, "gcs_action", actions=_AP_ROVER_ACT),
        ParamSpec("FS_TIMEOUT", 5.0, lo=1, hi=100, setting="gcs_timeout_s"),
        ParamSpec("BATT_FS_LOW_ACT", 1, I8, 0, 5, "battery_action", actions=_AP_ROVER_ACT),
        ParamSpec("FENCE_ACTION", 2, I8, 0, 4, "fence_action", actions=_AP_ROVER_ACT),
    ]


def _px4(air: bool, sysid: int, cruise_mps: float) -> list[ParamSpec]:
    common = [
        ParamSpec("MAV_SYS_ID", sysid, I32, 1, 250, readonly=True),
        ParamSpec("NAV_ACC_RAD", 2.0, lo=0.05, hi=200, setting="wp_radius_m"),
        ParamSpec("COM_DL_LOSS_T", 10.0 if air else 5.0, I32, 5 if air else 1, 300, "gcs_timeout_s"),
        ParamSpec("NAV_DLL_ACT", 2 if air else 1, I32, 0, 6, "gcs_action", actions=_PX4_DLL),
        ParamSpec("BAT_LOW_THR", 0.15, lo=0.12, hi=0.5, setting="battery_low_frac"),
        ParamSpec("COM_LOW_BAT_ACT", 3, I32, 0, 3, "battery_action", actions=_PX4_BAT),
        ParamSpec("GF_ACTION", 3 if air else 2, I32, 0, 5, "fence_action", actions=_PX4_GF),
        ParamSpec("GF_MAX_HOR_DIST", 0.0, lo=0, hi=10000, setting="fence_radius_m"),
    ]
    if air:
        return common + [
            ParamSpec("MPC_XY_CRUISE", cruise_mps, lo=3, hi=20, setting="cruise_speed_mps"),
            ParamSpec("MPC_Z_VEL_MAX_UP", 3.0, lo=0.5, hi=8, setting="climb_speed_mps"),
            ParamSpec("MPC_LAND_SPEED", 0.7, lo=0.6, hi=4, setting="land_speed_mps"),
            ParamSpec("MIS_TAKEOFF_ALT", 2.5, lo=0, hi=80, setting="takeoff_alt_m"),
            ParamSpec("RTL_RETURN_ALT", 60.0, lo=0, hi=150, setting="rtl_alt_m"),
            ParamSpec("GF_MAX_VER_DIST", 0.0, lo=0, hi=10000, setting="fence_alt_max_m"),
        ]
    return common + [ParamSpec("GND_SPEED_TRIM", cruise_mps, lo=0, hi=100, setting="cruise_speed_mps")]


def param_table(autopilot: str, air: bool, sysid: int, battery_wh: float,
                cruise_mps: float) -> list[ParamSpec]:
    """The parameters of one simulated vehicle. ``battery_wh`` sizes ArduPilot's mAh-based battery
    parameters at the nominal pack voltage the telemetry reports (:data:`NOMINAL_CELL_V` per cell)."""
    if autopilot == "px4":
        return _px4(air, sysid, cruise_mps)
    capacity_mah = battery_wh / pack_voltage(air, 0.5) * 1000.0 if battery_wh > 0 else 0.0
    return _ardupilot(air, sysid, capacity_mah, cruise_mps)


NOMINAL_CELL_V = 3.7


def pack_voltage(air: bool, remaining_frac: float) -> float:
    """A Li-ion pack's terminal voltage at a state of charge: 6 cells on drones, 4 on ground robots,
    3.3 V (empty) to 4.2 V (full) per cell, linear in between; 3.75 V at half charge."""
    cells = 6 if air else 4
    return cells * (3.3 + 0.9 * min(max(remaining_frac, 0.0), 1.0))


class ParamStore:
    """Current values of a parameter table, with the wire encoding of the personality.

    PX4 sends integer parameters bytewise (the int32's bytes inside the float field); ArduPilot casts them
    to float. Getting this wrong shows up as absurd values in ground stations (NaN-looking denormals).
    """

    def __init__(self, specs: list[ParamSpec], bytewise: bool,
                 on_change: Callable[[str, float], None] | None = None) -> None:
        self._specs = {s.name: s for s in specs}
        self._order = [s.name for s in specs]
        self._values = {s.name: float(s.default) for s in specs}
        self._settings: dict[str, float] = {}
        self.bytewise = bytewise
        self._on_change = on_change
        for s in specs:
            if s.setting:
                self._settings[s.setting] = s.to_setting(s.default)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def get(self, name: str) -> float:
        return self._values[name]

    def setting(self, key: str, default: float = math.nan) -> float:
        """The simulator setting driven by a parameter (``default`` if no parameter drives it)."""
        return self._settings.get(key, default)

    def drives(self, name: str) -> str:
        """The setting a parameter drives ("" for none)."""
        spec = self._specs.get(name)
        return spec.setting if spec is not None else ""

    def index(self, name: str) -> int:
        return self._order.index(name)

    def name_at(self, index: int) -> str | None:
        return self._order[index] if 0 <= index < len(self._order) else None

    def set(self, name: str, value: float) -> float:
        """Set a parameter; raises ValueError naming it and the problem. Returns the stored value."""
        spec = self._specs.get(name)
        if spec is None:
            raise ValueError(f"no parameter named {name!r}")
        if spec.readonly:
            raise ValueError(f"parameter {name} is read-only")
        if not math.isfinite(value) or not spec.lo <= value <= spec.hi:
            raise ValueError(f"parameter {name} = {value!r} is outside [{spec.lo:g}, {spec.hi:g}]")
        if spec.is_int:
            value = float(round(value))
        self._values[name] = value
        if spec.setting:
            self._settings[spec.setting] = spec.to_setting(value)
        if self._on_change is not None:
            self._on_change(name, value)
        return value

    def encode(self, name: str) -> tuple[float, int]:
        """``(param_value, param_type)`` as sent in PARAM_VALUE."""
        spec = self._specs[name]
        value = self._values[name]
        if spec.is_int and self.bytewise:
            return struct.unpack("<f", struct.pack("<i", int(value)))[0], int(spec.ptype)
        return value, int(spec.ptype)

    def decode(self, name: str, wire_value: float, wire_type: int) -> float:
        """The number a PARAM_SET carries, undoing PX4's bytewise encoding of integers."""
        spec = self._specs.get(name)
        if spec is not None and spec.is_int and self.bytewise and wire_type != MavParamType.REAL32:
            return float(struct.unpack("<i", struct.pack("<f", wire_value))[0])
        return float(wire_value)


class ParamService:
    """PARAM_REQUEST_LIST / PARAM_REQUEST_READ / PARAM_SET, answered with PARAM_VALUE."""

    def __init__(self, store: ParamStore, encoder: Any, send: Callable[[Any], None]) -> None:
        self.store = store
        self._enc = encoder
        self._send = send

    def _value_msg(self, name: str) -> Any:
        value, ptype = self.store.encode(name)
        return self._enc.param_value_encode(name.encode("ascii"), value, ptype, len(self.store),
                                            self.store.index(name))

    def handle(self, msg: Any) -> bool:
        kind = msg.get_type()
        if kind == "PARAM_REQUEST_LIST":
            for name in self.store:
                self._send(self._value_msg(name))
        elif kind == "PARAM_REQUEST_READ":
            name = self.store.name_at(msg.param_index) if msg.param_index >= 0 else _param_id(msg.param_id)
            if name is not None and name in self.store:
                self._send(self._value_msg(name))
            else:
                logger.info("PARAM_REQUEST_READ for unknown parameter %r / index %d", msg.param_id,
                            msg.param_index)
        elif kind == "PARAM_SET":
            name = _param_id(msg.param_id)
            if name not in self.store:
                logger.info("PARAM_SET of unknown parameter %r ignored", name)
                return True
            try:
                self.store.set(name, self.store.decode(name, msg.param_value, msg.param_type))
            except ValueError as exc:
                logger.warning("PARAM_SET refused: %s", exc)
            self._send(self._value_msg(name))    # the value now in force, changed or not
        else:
            return False
        return True


def _param_id(raw: Any) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    return str(raw).split("\x00", 1)[0]
