"""Telemetry of the simulated autopilot: what each message says, and how often it is sent.

Rates are in *simulated* time: at ``--speed-factor 20`` a 10 Hz ``GLOBAL_POSITION_INT`` leaves 200 times
per wall second, so the reported track has the same spacing on the ground at any speed factor (a ground
station sees the track only through these reports). ``SET_MESSAGE_INTERVAL`` changes a rate;
``REQUEST_MESSAGE`` sends any message of the table once.

Frames: the simulator's state is local ENU (x east, y north, z up; heading counter-clockwise from east);
MAVLink speaks NED (yaw clockwise from north, ``vz`` positive down) and degE7 / millimetres.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Protocol

from agrifleet.core.vehicle import VehicleState

from ._mav_proto import MissionState, MsgId, ProtocolCapability, SensorBit

__all__ = ["BUILDERS", "DEFAULT_RATES_HZ", "Streams", "TelemetrySource"]

DEFAULT_RATES_HZ: dict[int, float] = {
    MsgId.HEARTBEAT: 1.0,
    MsgId.SYS_STATUS: 1.0,
    MsgId.SYSTEM_TIME: 0.5,
    MsgId.GPS_RAW_INT: 2.0,
    MsgId.ATTITUDE: 4.0,
    MsgId.LOCAL_POSITION_NED: 4.0,
    MsgId.GLOBAL_POSITION_INT: 10.0,
    MsgId.SERVO_OUTPUT_RAW: 2.0,
    MsgId.MISSION_CURRENT: 1.0,
    MsgId.VFR_HUD: 2.0,
    MsgId.BATTERY_STATUS: 1.0,
    MsgId.HOME_POSITION: 0.2,
    MsgId.EXTENDED_SYS_STATE: 1.0,
}

SENSORS = (SensorBit.GYRO_3D | SensorBit.ACCEL_3D | SensorBit.MAG_3D | SensorBit.ABSOLUTE_PRESSURE
           | SensorBit.GPS | SensorBit.ANGULAR_RATE_CONTROL | SensorBit.ATTITUDE_STABILIZATION
           | SensorBit.YAW_POSITION | SensorBit.XY_POSITION_CONTROL | SensorBit.MOTOR_OUTPUTS
           | SensorBit.AHRS | SensorBit.BATTERY | SensorBit.PREARM_CHECK)
UNIX_EPOCH_2025_S = 1_735_689_600.0   # simulated wall-calendar time at t = 0 (2025-01-01T00:00:00Z)


class TelemetrySource(Protocol):
    """What the builders read from the autopilot."""

    state: VehicleState
    mav_type: int
    autopilot_type: int
    sysid: int
    fix_type: int
    satellites: int

    @property
    def boot_ms(self) -> int: ...
    @property
    def lat_lon_e7(self) -> tuple[int, int]: ...
    @property
    def alt_amsl_m(self) -> float: ...
    @property
    def rel_alt_m(self) -> float: ...
    @property
    def home_lat_lon_alt(self) -> tuple[float, float, float]: ...
    @property
    def home_xyz(self) -> tuple[float, float, float]: ...
    @property
    def base_mode(self) -> int: ...
    @property
    def custom_mode(self) -> int: ...
    @property
    def system_status(self) -> int: ...
    @property
    def sensor_health(self) -> int: ...
    @property
    def fence_enabled(self) -> bool: ...
    @property
    def battery_frac(self) -> float: ...
    @property
    def battery_voltage_v(self) -> float: ...
    @property
    def landed_state(self) -> int: ...
    @property
    def mission_report(self) -> tuple[int, int, MissionState, int]: ...
    @property
    def servo_pwm(self) -> list[int]: ...
    @property
    def capabilities(self) -> int: ...
    @property
    def sw_version(self) -> int: ...


def yaw_ned(heading_enu_rad: float) -> float:
    """MAVLink yaw (radians clockwise from north, -pi..pi) from an ENU heading (CCW from east)."""
    return math.remainder(math.pi / 2 - heading_enu_rad, 2 * math.pi)


def hdg_cdeg(heading_enu_rad: float) -> int:
    return int(round(math.degrees(yaw_ned(heading_enu_rad)) % 360.0 * 100)) % 36000


def _heartbeat(ap: TelemetrySource, enc: Any) -> Any:
    return enc.heartbeat_encode(ap.mav_type, ap.autopilot_type, ap.base_mode, ap.custom_mode,
                                ap.system_status, 3)


def _sys_status(ap: TelemetrySource, enc: Any) -> Any:
    frac = ap.battery_frac
    remaining = -1 if math.isnan(frac) else int(round(100 * frac))
    mv = 0 if math.isnan(frac) else int(ap.battery_voltage_v * 1000)
    present = int(SENSORS | SensorBit.GEOFENCE)
    enabled = present if ap.fence_enabled else present & ~int(SensorBit.GEOFENCE)
    return enc.sys_status_encode(present, enabled, ap.sensor_health, 250, mv, -1, remaining, 0, 0, 0, 0, 0, 0)


def _system_time(ap: TelemetrySource, enc: Any) -> Any:
    return enc.system_time_encode(int((UNIX_EPOCH_2025_S + ap.state.t_s) * 1e6), ap.boot_ms)


def _gps_raw_int(ap: TelemetrySource, enc: Any) -> Any:
    s = ap.state
    lat, lon = ap.lat_lon_e7
    cog = hdg_cdeg(math.atan2(s.vy, s.vx)) if math.hypot(s.vx, s.vy) > 0.2 else 65535
    return enc.gps_raw_int_encode(int(s.t_s * 1e6), ap.fix_type, lat, lon, int(ap.alt_amsl_m * 1000), 70, 120,
                                  int(math.hypot(s.vx, s.vy) * 100), cog, ap.satellites)


def _attitude(ap: TelemetrySource, enc: Any) -> Any:
    s = ap.state
    return enc.attitude_encode(ap.boot_ms, 0.0, 0.0, yaw_ned(s.heading_rad), 0.0, 0.0, -s.yaw_rate_rad_s)


def _local_position_ned(ap: TelemetrySource, enc: Any) -> Any:
    s = ap.state
    hx, hy, hz = ap.home_xyz
    return enc.local_position_ned_encode(ap.boot_ms, s.y - hy, s.x - hx, -(s.z - hz), s.vy, s.vx, -s.vz)


def _global_position_int(ap: TelemetrySource, enc: Any) -> Any:
    s = ap.state
    lat, lon = ap.lat_lon_e7
    return enc.global_position_int_encode(ap.boot_ms, lat, lon, int(ap.alt_amsl_m * 1000),
                                          int(ap.rel_alt_m * 1000), int(s.vy * 100), int(s.vx * 100),
                                          int(-s.vz * 100), hdg_cdeg(s.heading_rad))


def _servo_output_raw(ap: TelemetrySource, enc: Any) -> Any:
    return enc.servo_output_raw_encode(int(ap.state.t_s * 1e6) & 0xFFFFFFFF, 0, *ap.servo_pwm[:16])


def _mission_current(ap: TelemetrySource, enc: Any) -> Any:
    seq, total, state, mode = ap.mission_report
    return enc.mission_current_encode(seq, total, int(state), mode)


def _vfr_hud(ap: TelemetrySource, enc: Any) -> Any:
    s = ap.state
    speed = math.hypot(s.vx, s.vy)
    throttle = 0 if s.landed and not s.armed else 50
    return enc.vfr_hud_encode(speed, speed, int(math.degrees(yaw_ned(s.heading_rad)) % 360), throttle,
                              ap.alt_amsl_m, s.vz)


def _battery_status(ap: TelemetrySource, enc: Any) -> Any:
    frac = ap.battery_frac
    remaining = -1 if math.isnan(frac) else int(round(100 * frac))
    cells = [65535] * 10
    if not math.isnan(frac):
        cells[0] = min(65534, int(ap.battery_voltage_v * 1000))
    return enc.battery_status_encode(0, 1, 1, 32767, cells, -1, -1, -1, remaining)


def _home_position(ap: TelemetrySource, enc: Any) -> Any:
    lat, lon, alt = ap.home_lat_lon_alt
    hx, hy, hz = ap.home_xyz
    return enc.home_position_encode(int(round(lat * 1e7)), int(round(lon * 1e7)), int(alt * 1000), 0.0, 0.0,
                                    0.0, [1.0, 0.0, 0.0, 0.0], 0.0, 0.0, 0.0, int(ap.state.t_s * 1e6))


def _extended_sys_state(ap: TelemetrySource, enc: Any) -> Any:
    return enc.extended_sys_state_encode(0, ap.landed_state)


def _autopilot_version(ap: TelemetrySource, enc: Any) -> Any:
    custom = list(b"agrifle\x00")
    return enc.autopilot_version_encode(ap.capabilities, ap.sw_version, 0, 0, 0, custom, [0] * 8, [0] * 8,
                                        0, 0, ap.sysid)


BUILDERS: dict[int, Callable[[TelemetrySource, Any], Any]] = {
    MsgId.HEARTBEAT: _heartbeat,
    MsgId.SYS_STATUS: _sys_status,
    MsgId.SYSTEM_TIME: _system_time,
    MsgId.GPS_RAW_INT: _gps_raw_int,
    MsgId.ATTITUDE: _attitude,
    MsgId.LOCAL_POSITION_NED: _local_position_ned,
    MsgId.GLOBAL_POSITION_INT: _global_position_int,
    MsgId.SERVO_OUTPUT_RAW: _servo_output_raw,
    MsgId.MISSION_CURRENT: _mission_current,
    MsgId.VFR_HUD: _vfr_hud,
    MsgId.BATTERY_STATUS: _battery_status,
    MsgId.HOME_POSITION: _home_position,
    MsgId.EXTENDED_SYS_STATE: _extended_sys_state,
    MsgId.AUTOPILOT_VERSION: _autopilot_version,
}

CAPABILITIES_COMMON = (ProtocolCapability.MISSION_FLOAT | ProtocolCapability.PARAM_FLOAT
                       | ProtocolCapability.MISSION_INT | ProtocolCapability.COMMAND_INT
                       | ProtocolCapability.MISSION_FENCE | ProtocolCapability.MISSION_RALLY
                       | ProtocolCapability.MAVLINK2)


class Streams:
    """Per-message send schedule on the simulated clock."""

    def __init__(self, t0_s: float, rates_hz: dict[int, float] | None = None) -> None:
        self._interval: dict[int, float] = {}
        self._due: dict[int, float] = {}
        for msg_id, hz in (rates_hz or DEFAULT_RATES_HZ).items():
            self.set_rate(msg_id, hz, t0_s)

    def set_rate(self, msg_id: int, hz: float, now_s: float) -> None:
        if hz <= 0:
            self._interval.pop(msg_id, None)
            self._due.pop(msg_id, None)
            return
        self._interval[msg_id] = 1.0 / hz
        self._due[msg_id] = now_s

    def set_interval_us(self, msg_id: int, interval_us: float, now_s: float) -> bool:
        """``SET_MESSAGE_INTERVAL`` semantics: -1 stops, 0 restores the default, > 0 sets the period.
        False when the message is not one this vehicle can stream."""
        if msg_id not in BUILDERS or msg_id == MsgId.AUTOPILOT_VERSION:
            return False
        if interval_us < 0:
            self.set_rate(msg_id, 0.0, now_s)
        elif interval_us == 0:
            self.set_rate(msg_id, DEFAULT_RATES_HZ.get(msg_id, 0.0), now_s)
        else:
            self.set_rate(msg_id, 1e6 / interval_us, now_s)
        return True

    def interval_s(self, msg_id: int) -> float:
        return self._interval.get(msg_id, math.inf)

    def due(self, now_s: float) -> list[int]:
        """Messages whose time has come; their next time is one period later (no burst after a stall)."""
        out = []
        for msg_id, t in self._due.items():
            if now_s + 1e-9 >= t:
                out.append(msg_id)
                period = self._interval[msg_id]
                nxt = t + period
                self._due[msg_id] = nxt if nxt > now_s else now_s + period
        return out
