"""The slice of the MAVLink protocol that agrifleet speaks, as typed constants, plus the pymavlink loader.

Both the simulated autopilot (:mod:`agrifleet.sim.autopilot`) and the MAVLink driver
(:mod:`agrifleet.drivers.mavlink`) use these names, so that the two ends of a link cannot disagree on a
number. Values are those of the MAVLink ``common`` and ``ardupilotmega`` message sets; they travel on the
wire and must never be renumbered.

pymavlink speaks MAVLink 1 unless ``MAVLINK20`` is set before :mod:`pymavlink.mavutil` is first imported;
in MAVLink 1 the extension fields (``mission_type``, ``COMMAND_ACK.target_*``,
``MISSION_CURRENT.mission_state``) are silently dropped, which breaks real ground stations. Always get
``mavutil`` through :func:`load_mavutil`.
"""
from __future__ import annotations

import math
import os
from enum import IntEnum, IntFlag
from types import ModuleType

__all__ = [
    "COMP_AUTOPILOT", "LandedState", "MavAutopilot", "MavCmd", "MavFrame", "MavMissionResult",
    "MavMissionType", "MavModeFlag", "MavParamType", "MavResult", "MavSeverity", "MavState", "MavType",
    "MissionState", "MsgId", "ProtocolCapability", "SensorBit", "ARM_FORCE_MAGIC", "GLOBAL_FRAMES",
    "RELATIVE_FRAMES", "load_mavutil", "param_or", "param_int",
]

COMP_AUTOPILOT = 1   # MAV_COMP_ID_AUTOPILOT1: MAVSDK treats a system as an autopilot only from compid 1


def load_mavutil() -> ModuleType:
    """``pymavlink.mavutil`` with the MAVLink 2 message set selected, whatever was imported before."""
    os.environ["MAVLINK20"] = "1"
    from pymavlink import mavutil

    if mavutil.mavlink.WIRE_PROTOCOL_VERSION != "2.0":
        mavutil.set_dialect(mavutil.current_dialect)
    return mavutil


def param_or(value: float, default: float) -> float:
    """A command parameter, or ``default`` when it is unset. MAVSDK sends NaN for unset parameters to a
    PX4-type vehicle (and 0 to an ArduPilot one), so NaN must never reach ``int()``."""
    return default if value is None or not math.isfinite(value) else float(value)


def param_int(value: float, default: int = 0) -> int:
    """A command parameter that holds an integer; NaN and infinities give ``default``."""
    v = param_or(value, math.nan)
    return default if not math.isfinite(v) else int(round(v))


class MavType(IntEnum):
    GENERIC = 0
    FIXED_WING = 1
    QUADROTOR = 2
    GCS = 6
    GROUND_ROVER = 10
    HEXAROTOR = 13
    OCTOROTOR = 14


class MavAutopilot(IntEnum):
    GENERIC = 0
    ARDUPILOTMEGA = 3
    INVALID = 8
    PX4 = 12


class MavModeFlag(IntFlag):
    CUSTOM_MODE_ENABLED = 1
    TEST_ENABLED = 2
    AUTO_ENABLED = 4
    GUIDED_ENABLED = 8
    STABILIZE_ENABLED = 16
    HIL_ENABLED = 32
    MANUAL_INPUT_ENABLED = 64
    SAFETY_ARMED = 128


class MavState(IntEnum):
    UNINIT = 0
    BOOT = 1
    CALIBRATING = 2
    STANDBY = 3
    ACTIVE = 4
    CRITICAL = 5
    EMERGENCY = 6


class MavResult(IntEnum):
    ACCEPTED = 0
    TEMPORARILY_REJECTED = 1
    DENIED = 2
    UNSUPPORTED = 3
    FAILED = 4
    IN_PROGRESS = 5
    CANCELLED = 6


class MavMissionResult(IntEnum):
    ACCEPTED = 0
    ERROR = 1
    UNSUPPORTED_FRAME = 2
    UNSUPPORTED = 3
    NO_SPACE = 4
    INVALID = 5
    INVALID_PARAM1 = 6
    INVALID_PARAM5_X = 10
    INVALID_PARAM6_Y = 11
    INVALID_PARAM7 = 12
    INVALID_SEQUENCE = 13
    DENIED = 14
    OPERATION_CANCELLED = 15


class MavMissionType(IntEnum):
    MISSION = 0
    FENCE = 1
    RALLY = 2
    ALL = 255


class MissionState(IntEnum):
    """``MISSION_CURRENT.mission_state``."""

    UNKNOWN = 0
    NO_MISSION = 1
    NOT_STARTED = 2
    ACTIVE = 3
    PAUSED = 4
    COMPLETE = 5


class MavFrame(IntEnum):
    GLOBAL = 0
    LOCAL_NED = 1
    MISSION = 2
    GLOBAL_RELATIVE_ALT = 3
    LOCAL_ENU = 4
    GLOBAL_INT = 5
    GLOBAL_RELATIVE_ALT_INT = 6
    GLOBAL_TERRAIN_ALT = 10
    GLOBAL_TERRAIN_ALT_INT = 11


GLOBAL_FRAMES = frozenset({MavFrame.GLOBAL, MavFrame.GLOBAL_INT, MavFrame.GLOBAL_RELATIVE_ALT,
                           MavFrame.GLOBAL_RELATIVE_ALT_INT, MavFrame.GLOBAL_TERRAIN_ALT,
                           MavFrame.GLOBAL_TERRAIN_ALT_INT})
"""Frames whose x/y are latitude/longitude."""
RELATIVE_FRAMES = frozenset({MavFrame.GLOBAL_RELATIVE_ALT, MavFrame.GLOBAL_RELATIVE_ALT_INT,
                             MavFrame.GLOBAL_TERRAIN_ALT, MavFrame.GLOBAL_TERRAIN_ALT_INT})
"""Frames whose z is height above home (terrain following is flown as height above home: flat world)."""


class MavCmd(IntEnum):
    NAV_WAYPOINT = 16
    NAV_LOITER_UNLIM = 17
    NAV_LOITER_TIME = 19
    NAV_RETURN_TO_LAUNCH = 20
    NAV_LAND = 21
    NAV_TAKEOFF = 22
    DO_SET_MODE = 176
    DO_JUMP = 177
    DO_CHANGE_SPEED = 178
    DO_SET_HOME = 179
    DO_SET_RELAY = 181
    DO_SET_SERVO = 183
    DO_REPOSITION = 192
    DO_PAUSE_CONTINUE = 193
    DO_SET_CAM_TRIGG_DIST = 206
    DO_SPRAYER = 216
    DO_SET_MISSION_CURRENT = 224
    PREFLIGHT_REBOOT_SHUTDOWN = 246
    MISSION_START = 300
    COMPONENT_ARM_DISARM = 400
    GET_HOME_POSITION = 410
    GET_MESSAGE_INTERVAL = 510
    SET_MESSAGE_INTERVAL = 511
    REQUEST_MESSAGE = 512
    REQUEST_AUTOPILOT_CAPABILITIES = 520
    NAV_FENCE_RETURN_POINT = 5000
    NAV_FENCE_POLYGON_VERTEX_INCLUSION = 5001
    NAV_FENCE_POLYGON_VERTEX_EXCLUSION = 5002
    NAV_FENCE_CIRCLE_INCLUSION = 5003
    NAV_FENCE_CIRCLE_EXCLUSION = 5004
    NAV_RALLY_POINT = 5100


ARM_FORCE_MAGIC = (21196, 2989)   # param2 of COMPONENT_ARM_DISARM that forces (MAVSDK, MAVProxy)


class ProtocolCapability(IntFlag):
    MISSION_FLOAT = 1
    PARAM_FLOAT = 2
    MISSION_INT = 4
    COMMAND_INT = 8
    PARAM_ENCODE_BYTEWISE = 16
    SET_POSITION_TARGET_GLOBAL_INT = 256
    MISSION_FENCE = 1024
    MISSION_RALLY = 2048
    PARAM_ENCODE_C_CAST = 4096
    MAVLINK2 = 8192


class SensorBit(IntFlag):
    """``SYS_STATUS`` onboard sensor bits that ground stations read."""

    GYRO_3D = 1
    ACCEL_3D = 2
    MAG_3D = 4
    ABSOLUTE_PRESSURE = 8
    GPS = 32
    ANGULAR_RATE_CONTROL = 1024
    ATTITUDE_STABILIZATION = 2048
    YAW_POSITION = 4096
    XY_POSITION_CONTROL = 16384
    MOTOR_OUTPUTS = 32768
    GEOFENCE = 1 << 20
    AHRS = 1 << 21
    BATTERY = 1 << 25
    PREARM_CHECK = 1 << 28


class LandedState(IntEnum):
    UNDEFINED = 0
    ON_GROUND = 1
    IN_AIR = 2
    TAKEOFF = 3
    LANDING = 4


class MavSeverity(IntEnum):
    EMERGENCY = 0
    ALERT = 1
    CRITICAL = 2
    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFO = 6
    DEBUG = 7


class MavParamType(IntEnum):
    UINT8 = 1
    INT8 = 2
    UINT16 = 3
    INT16 = 4
    UINT32 = 5
    INT32 = 6
    REAL32 = 9


class MsgId(IntEnum):
    """Message ids that commands name (``REQUEST_MESSAGE``, ``SET_MESSAGE_INTERVAL``)."""

    HEARTBEAT = 0
    SYS_STATUS = 1
    SYSTEM_TIME = 2
    GPS_RAW_INT = 24
    ATTITUDE = 30
    LOCAL_POSITION_NED = 32
    GLOBAL_POSITION_INT = 33
    SERVO_OUTPUT_RAW = 36
    MISSION_CURRENT = 42
    VFR_HUD = 74
    AUTOPILOT_VERSION = 148
    BATTERY_STATUS = 147
    HOME_POSITION = 242
    EXTENDED_SYS_STATE = 245
