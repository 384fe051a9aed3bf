"""``COMMAND_LONG`` / ``COMMAND_INT`` handling of the simulated autopilot.

Every command addressed to this vehicle (its sysid or 0, component 1 or 0) gets exactly one
``COMMAND_ACK`` from component 1, echoing the command and naming the sender as target: MAVSDK ignores
acknowledgements for anyone else, and retries a command it hears nothing about. Unknown commands are
``UNSUPPORTED``. Parameters may be NaN (MAVSDK sends NaN for unset parameters to PX4), so every parameter
goes through :func:`~._mav_proto.param_or` before it is used.

The handlers take the autopilot and ``p``, the seven parameters with ``p[4]``/``p[5]`` as latitude and
longitude in degrees whichever message carried them (``COMMAND_INT`` sends them as degE7 integers).
"""
from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any, Callable, Union

import numpy as np

from ._mav_guidance import Hold, PathMotion
from ._mav_modes import FlightMode
from ._mav_proto import (ARM_FORCE_MAGIC, COMP_AUTOPILOT, GLOBAL_FRAMES, MavCmd, MavResult, MavSeverity,
                         MsgId, param_int, param_or)

if TYPE_CHECKING:
    from .autopilot import SimAutopilot

__all__ = ["do_item", "handle_command"]

logger = logging.getLogger(__name__)

Params = tuple[float, float, float, float, float, float, float]
Outcome = Union[MavResult, tuple[MavResult, int]]   # a result, or one and a message to send after the ACK
Handler = Callable[["SimAutopilot", Params, Any], Outcome]


def handle_command(ap: "SimAutopilot", msg: Any) -> None:
    if msg.target_system not in (0, ap.sysid) or msg.target_component not in (0, COMP_AUTOPILOT):
        return
    if msg.get_type() == "COMMAND_INT":
        scale = 1e-7 if msg.frame in GLOBAL_FRAMES else 1.0
        p: Params = (msg.param1, msg.param2, msg.param3, msg.param4, msg.x * scale, msg.y * scale, msg.z)
    else:
        p = (msg.param1, msg.param2, msg.param3, msg.param4, msg.param5, msg.param6, msg.param7)
    handler = HANDLERS.get(msg.command)
    outcome = MavResult.UNSUPPORTED if handler is None else handler(ap, p, msg)
    result, then = outcome if isinstance(outcome, tuple) else (outcome, None)
    if msg.target_system == 0 and result is MavResult.UNSUPPORTED:
        return                    # a broadcast command for some other kind of system: stay quiet
    ap._reply(ap.enc.command_ack_encode(msg.command, int(result), 0, 0, msg.get_srcSystem(),
                                        msg.get_srcComponent()))
    if then is not None:
        ap.send_message(then, reply=True)
    if result is not MavResult.ACCEPTED:
        logger.info("%s: command %d -> %s", ap.vehicle_id, msg.command, result.name)


def _arm(ap: "SimAutopilot", p: Params, msg: Any) -> MavResult:
    force = param_int(p[1]) in ARM_FORCE_MAGIC
    if param_or(p[0], 0.0) >= 0.5:
        return ap.arm(force)
    return ap.disarm(force)


def _set_mode(ap: "SimAutopilot", p: Params, msg: Any) -> MavResult:
    custom = ap.personality.from_command(param_or(p[0], 0.0), param_or(p[1], 0.0), param_or(p[2], 0.0))
    entry = None if custom is None else ap.personality.decode(custom, ap.air)
    if entry is None:
        return MavResult.DENIED
    return ap.set_mode(entry, "DO_SET_MODE")


def _mission_start(ap: "SimAutopilot", p: Params, msg: Any) -> MavResult:
    if ap.executor.total == 0:
        ap.statustext(MavSeverity.WARNING, "Mission start: no mission")
        return MavResult.FAILED
    first = param_int(p[0], 0)
    if ap.behaviour is not FlightMode.AUTO:
        result = ap.set_flight_mode(FlightMode.AUTO, "MISSION_START")
        if result is not MavResult.ACCEPTED:
            return result
    ap.executor.start(first if first >= ap.executor.first_seq else None)
    ap._paused = False
    return MavResult.ACCEPTED


def _takeoff(ap: "SimAutopilot", p: Params, msg: Any) -> MavResult:
    if not ap.air:
        return MavResult.UNSUPPORTED
    if not ap.armed:
        ap.statustext(MavSeverity.WARNING, "Takeoff: not armed")
        return MavResult.DENIED
    alt = param_or(p[6], math.nan)
    if math.isfinite(alt) and alt > 0:
        name = "MIS_TAKEOFF_ALT" if ap.personality.name == "px4" else "PILOT_TKOFF_ALT"
        scale = 1.0 if ap.personality.name == "px4" else 100.0
        try:
            ap.params.set(name, alt * scale)
        except ValueError as exc:
            ap.statustext(MavSeverity.WARNING, f"Takeoff: {exc}")
            return MavResult.DENIED
    return ap.set_flight_mode(FlightMode.TAKEOFF, "NAV_TAKEOFF")


def _mode_command(mode: FlightMode) -> Handler:
    def handler(ap: "SimAutopilot", p: Params, msg: Any) -> MavResult:
        return ap.set_flight_mode(mode, msg.get_type())
    return handler


def _pause_continue(ap: "SimAutopilot", p: Params, msg: Any) -> MavResult:
    if ap.behaviour is not FlightMode.AUTO:
        return MavResult.DENIED
    pause = param_or(p[0], 1.0) < 0.5
    ap._paused = pause
    if pause:
        ap.executor.pause()
        est = ap.estimate
        ap._motion = Hold(ap.air, est.x, est.y, est.z)
    else:
        ap.executor.start()
    return MavResult.ACCEPTED


def _set_current(ap: "SimAutopilot", p: Params, msg: Any) -> MavResult:
    return MavResult.ACCEPTED if ap.executor.set_current(param_int(p[0], -1)) else MavResult.DENIED


def _set_home(ap: "SimAutopilot", p: Params, msg: Any) -> MavResult:
    if param_or(p[0], 0.0) >= 0.5:
        est = ap.estimate
        lat, lon = ap.lat_lon_e7
        ap.home_xyz = (est.x, est.y, ap.home_xyz[2])
        ap.home_lat_lon_alt = (lat * 1e-7, lon * 1e-7, ap.alt_amsl_m)
    else:
        lat, lon, alt = param_or(p[4], math.nan), param_or(p[5], math.nan), param_or(p[6], math.nan)
        if not (-90 <= lat <= 90 and -180 <= lon <= 180 and math.isfinite(alt)):
            return MavResult.DENIED
        x, y = ap.frame.point_to_local(lon, lat)
        ap.home_xyz = (x, y, ap.home_xyz[2])
        ap.home_lat_lon_alt = (lat, lon, alt)
    ap.send_message(MsgId.HOME_POSITION)
    return MavResult.ACCEPTED


def _reposition(ap: "SimAutopilot", p: Params, msg: Any) -> MavResult:
    """Go to a point and hold there (PX4's DO_REPOSITION; ArduPilot flies it in GUIDED)."""
    lat, lon = param_or(p[4], math.nan), param_or(p[5], math.nan)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or not ap.armed:
        return MavResult.DENIED
    est = ap.estimate
    alt = param_or(p[6], math.nan)
    x, y = ap.frame.point_to_local(lon, lat)
    z = alt - ap.home_lat_lon_alt[2] if math.isfinite(alt) and ap.air else est.z
    speed = param_or(p[0], -1.0)
    if speed > 0:
        ap.speed_mps = speed
    result = ap.set_flight_mode(FlightMode.GUIDED if ap.personality.name == "ardupilot" else FlightMode.HOLD,
                                "DO_REPOSITION")
    if result is MavResult.ACCEPTED:
        ap._motion = PathMotion(ap.spec, est, np.array([[x, y, z]]), [ap.speed_mps])
    return result


def do_item(ap: "SimAutopilot", command: int, p: Params) -> MavResult:
    """DO commands that a mission item or a command may carry."""
    if command == MavCmd.DO_CHANGE_SPEED:
        speed = param_or(p[1], -1.0)
        if speed > 0 and param_int(p[0], 1) in (0, 1):
            ap.speed_mps = min(speed, ap.spec.max_speed_mps)
        return MavResult.ACCEPTED
    if command in (MavCmd.DO_SET_SERVO, MavCmd.DO_SET_RELAY, MavCmd.DO_SPRAYER, MavCmd.DO_SET_CAM_TRIGG_DIST):
        ok = ap.outputs.apply(command, param_or(p[0], -1.0), param_or(p[1], -1.0))
        return MavResult.ACCEPTED if ok else MavResult.DENIED
    if command == MavCmd.DO_SET_HOME:
        return _set_home(ap, p, None)
    return MavResult.UNSUPPORTED


def _do(ap: "SimAutopilot", p: Params, msg: Any) -> MavResult:
    return do_item(ap, msg.command, p)


def _request_message(ap: "SimAutopilot", p: Params, msg: Any) -> Outcome:
    msg_id = param_int(p[0], -1)
    if msg_id not in _REQUESTABLE:
        return MavResult.UNSUPPORTED
    return MavResult.ACCEPTED, msg_id


def _send_one(msg_id: int) -> Handler:
    def handler(ap: "SimAutopilot", p: Params, msg: Any) -> Outcome:
        return MavResult.ACCEPTED, msg_id
    return handler


def _message_interval(ap: "SimAutopilot", p: Params, msg: Any) -> MavResult:
    ok = ap.streams.set_interval_us(param_int(p[0], -1), param_or(p[1], 0.0), ap.t_s)
    return MavResult.ACCEPTED if ok else MavResult.DENIED


def _get_message_interval(ap: "SimAutopilot", p: Params, msg: Any) -> MavResult:
    msg_id = param_int(p[0], -1)
    interval = ap.streams.interval_s(msg_id)
    ap._reply(ap.enc.message_interval_encode(msg_id, -1 if math.isinf(interval) else int(interval * 1e6)))
    return MavResult.ACCEPTED


_REQUESTABLE = frozenset(int(m) for m in MsgId)

HANDLERS: dict[int, Handler] = {
    MavCmd.COMPONENT_ARM_DISARM: _arm,
    MavCmd.DO_SET_MODE: _set_mode,
    MavCmd.MISSION_START: _mission_start,
    MavCmd.NAV_TAKEOFF: _takeoff,
    MavCmd.NAV_LAND: _mode_command(FlightMode.LAND),
    MavCmd.NAV_RETURN_TO_LAUNCH: _mode_command(FlightMode.RTL),
    MavCmd.NAV_LOITER_UNLIM: _mode_command(FlightMode.HOLD),
    MavCmd.DO_PAUSE_CONTINUE: _pause_continue,
    MavCmd.DO_SET_MISSION_CURRENT: _set_current,
    MavCmd.DO_SET_HOME: _set_home,
    MavCmd.DO_REPOSITION: _reposition,
    MavCmd.DO_CHANGE_SPEED: _do,
    MavCmd.DO_SET_SERVO: _do,
    MavCmd.DO_SET_RELAY: _do,
    MavCmd.DO_SPRAYER: _do,
    MavCmd.DO_SET_CAM_TRIGG_DIST: _do,
    MavCmd.REQUEST_MESSAGE: _request_message,
    MavCmd.GET_HOME_POSITION: _send_one(MsgId.HOME_POSITION),
    MavCmd.REQUEST_AUTOPILOT_CAPABILITIES: _send_one(MsgId.AUTOPILOT_VERSION),
    MavCmd.SET_MESSAGE_INTERVAL: _message_interval,
    MavCmd.GET_MESSAGE_INTERVAL: _get_message_interval,
}
