"""The simulated autopilot's MAVLink surface: identity, health, commands, modes, parameters, signing.

A pymavlink ground station talks to the vehicle over loopback UDP; the world is stepped by the test, so
everything is deterministic in simulated time. Mission protocol: test_autopilot_mission.py; flight and
failsafes: test_autopilot_flight.py.
"""
from __future__ import annotations

import math
import struct

import pytest

from agrifleet.core.errors import ConfigError
from agrifleet.sim._mav_modes import ARDUPILOT, PX4, FlightMode
from agrifleet.sim._mav_proto import (MavCmd, MavMissionResult, MavResult, MissionState, MsgId,
                                      ProtocolCapability, SensorBit, load_mavutil)
from agrifleet.sim.autopilot import AutopilotConfig

from ._gcs import LAT0, LON0, Gcs, make_vehicle, waypoint

mavlink = load_mavutil().mavlink


@pytest.fixture(params=[("copter", "px4"), ("copter", "ardupilot"), ("rover", "px4"), ("rover", "ardupilot")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def vehicle_gcs(request):
    kind, autopilot = request.param
    v = make_vehicle(kind, autopilot)
    gcs = Gcs(v.link.local_port, pump=v.tick)
    v.run(0.1)
    yield v, gcs, kind, autopilot
    gcs.close()
    v.ap.close()


def test_wire_constants_match_pymavlink():
    assert MavCmd.MISSION_START == mavlink.MAV_CMD_MISSION_START
    assert MavCmd.DO_SET_MISSION_CURRENT == mavlink.MAV_CMD_DO_SET_MISSION_CURRENT
    assert MavMissionResult.INVALID_SEQUENCE == mavlink.MAV_MISSION_INVALID_SEQUENCE
    assert MavMissionResult.OPERATION_CANCELLED == mavlink.MAV_MISSION_OPERATION_CANCELLED
    assert MissionState.COMPLETE == mavlink.MISSION_STATE_COMPLETE
    assert SensorBit.GEOFENCE == mavlink.MAV_SYS_STATUS_GEOFENCE
    assert SensorBit.PREARM_CHECK == mavlink.MAV_SYS_STATUS_PREARM_CHECK
    assert ProtocolCapability.MISSION_INT == mavlink.MAV_PROTOCOL_CAPABILITY_MISSION_INT
    for cmd in MavCmd:
        assert getattr(mavlink, f"MAV_CMD_{cmd.name}") == cmd, cmd.name
    for msg_id in MsgId:
        assert getattr(mavlink, f"MAVLINK_MSG_ID_{msg_id.name}") == msg_id, msg_id.name


def test_heartbeat_health_and_position(vehicle_gcs):
    v, gcs, kind, autopilot = vehicle_gcs
    hb = gcs.recv("HEARTBEAT", cond=lambda m: m.get_srcSystem() == 1)
    assert hb.get_srcComponent() == 1
    assert hb.type == (2 if kind == "copter" else 10)
    assert hb.autopilot == (12 if autopilot == "px4" else 3)
    assert hb.base_mode & 1 and not hb.base_mode & 128
    assert hb.system_status == 3
    personality = PX4 if autopilot == "px4" else ARDUPILOT
    assert personality.decode(hb.custom_mode, kind == "copter").mode is FlightMode.HOLD
    status = gcs.recv("SYS_STATUS")
    needed = (SensorBit.GYRO_3D | SensorBit.ACCEL_3D | SensorBit.MAG_3D | SensorBit.GPS
              | SensorBit.PREARM_CHECK)
    assert status.onboard_control_sensors_present & needed == needed
    healthy = needed | SensorBit.GEOFENCE
    assert status.onboard_control_sensors_health & healthy == healthy
    pos = gcs.recv("GLOBAL_POSITION_INT")
    assert pos.lat == pytest.approx(LAT0 * 1e7, abs=5)    # RTK-fixed GNSS: centimetres
    assert pos.lon == pytest.approx(LON0 * 1e7, abs=5)
    assert pos.alt == pytest.approx(10_000, abs=100)      # home is 10 m above sea level
    assert abs(pos.relative_alt) < 100
    if kind == "rover":
        assert status.battery_remaining == 100
    gps = gcs.recv("GPS_RAW_INT")
    assert gps.fix_type == 6 and gps.satellites_visible > 10


def test_home_and_autopilot_version_on_request(vehicle_gcs):
    v, gcs, kind, autopilot = vehicle_gcs
    ack = gcs.command(MavCmd.REQUEST_MESSAGE, MsgId.HOME_POSITION)
    assert ack.result == MavResult.ACCEPTED
    assert (ack.target_system, ack.target_component) == (255, 230)
    assert ack.get_srcComponent() == 1
    home = gcs.recv("HOME_POSITION")
    assert home.latitude == pytest.approx(LAT0 * 1e7, abs=5)
    assert home.altitude == pytest.approx(10_000, abs=50)
    ack = gcs.command(MavCmd.GET_HOME_POSITION)          # MAVProxy's way
    assert ack.result == MavResult.ACCEPTED and gcs.recv("HOME_POSITION") is not None
    ack = gcs.command(MavCmd.REQUEST_MESSAGE, MsgId.AUTOPILOT_VERSION)
    version = gcs.recv("AUTOPILOT_VERSION")
    assert ack.result == MavResult.ACCEPTED
    for cap in (ProtocolCapability.MISSION_INT, ProtocolCapability.COMMAND_INT, ProtocolCapability.MAVLINK2):
        assert version.capabilities & cap
    assert version.capabilities & (ProtocolCapability.PARAM_ENCODE_BYTEWISE if autopilot == "px4"
                                   else ProtocolCapability.PARAM_ENCODE_C_CAST)
    ack = gcs.command(MavCmd.REQUEST_AUTOPILOT_CAPABILITIES)
    assert ack.result == MavResult.ACCEPTED and gcs.recv("AUTOPILOT_VERSION") is not None


def test_commands_are_acked_to_their_sender_and_tolerate_nan():
    v = make_vehicle("copter", "px4")
    a = Gcs(v.link.local_port, sysid=245, compid=190, pump=v.tick)     # MAVSDK's ids
    b = Gcs(v.link.local_port, sysid=255, compid=230, pump=v.tick)     # MAVProxy's ids
    nan = math.nan
    ack = a.command(MavCmd.COMPONENT_ARM_DISARM, 1.0, nan, nan, nan, nan, nan, nan)
    assert ack.result == MavResult.ACCEPTED and (ack.target_system, ack.target_component) == (245, 190)
    hb = a.recv("HEARTBEAT", cond=lambda m: m.base_mode & 128)
    assert hb is not None                                              # armed shows in the heartbeat
    ack = b.command(31000)                                             # MAV_CMD_USER_1: not ours
    assert ack.result == MavResult.UNSUPPORTED and (ack.target_system, ack.target_component) == (255, 230)
    assert b.command(MavCmd.COMPONENT_ARM_DISARM, 0.0, target=(7, 1), timeout=0.3) is None  # another system
    ack = b.command(MavCmd.COMPONENT_ARM_DISARM, 0.0, target=(1, 0))   # component 0 = any: ours answers
    assert ack.result == MavResult.ACCEPTED and ack.get_srcComponent() == 1
    ack = b.command(MavCmd.SET_MESSAGE_INTERVAL, MsgId.EXTENDED_SYS_STATE, 200_000)
    assert ack.result == MavResult.ACCEPTED
    assert v.ap.streams.interval_s(MsgId.EXTENDED_SYS_STATE) == pytest.approx(0.2)
    assert b.command(MavCmd.SET_MESSAGE_INTERVAL, 9999, 1e5).result == MavResult.DENIED
    a.close(), b.close(), v.ap.close()


def test_modes_of_both_personalities(vehicle_gcs):
    v, gcs, kind, autopilot = vehicle_gcs
    air = kind == "copter"
    personality = PX4 if autopilot == "px4" else ARDUPILOT
    rtl = personality.entry(FlightMode.RTL, air)
    ack = gcs.command(MavCmd.DO_SET_MODE, *personality.command_params(rtl.custom_mode, False))
    assert ack.result == MavResult.ACCEPTED
    hb = gcs.recv("HEARTBEAT", cond=lambda m: m.get_srcSystem() == 1 and m.custom_mode == rtl.custom_mode)
    assert hb is not None and v.ap.mode.mode is FlightMode.RTL
    # AUTO needs a mission.
    auto = personality.entry(FlightMode.AUTO, air)
    assert gcs.command(MavCmd.DO_SET_MODE, *personality.command_params(auto.custom_mode, False)).result \
        == MavResult.DENIED
    gcs.upload(([(0, 16, 0, 0, 0, 0, LAT0, LON0, 0)] if personality.home_is_seq0 else []) + [waypoint(10, 0)])
    assert gcs.command(MavCmd.DO_SET_MODE, *personality.command_params(auto.custom_mode, False)).result \
        == MavResult.ACCEPTED
    assert v.ap.mode.custom_mode == auto.custom_mode
    # A mode this autopilot does not have is refused; so is a DO_SET_MODE without the custom flag.
    assert gcs.command(MavCmd.DO_SET_MODE, 1, 99, 9).result == MavResult.DENIED
    assert gcs.command(MavCmd.DO_SET_MODE, 0, auto.custom_mode).result == MavResult.DENIED
    # The legacy SET_MODE message.
    hold = personality.entry(FlightMode.HOLD, air)
    gcs.mav.set_mode_send(1, 1, hold.custom_mode)
    assert gcs.recv("HEARTBEAT", cond=lambda m: m.get_srcSystem() == 1 and m.custom_mode == hold.custom_mode)


def test_mode_tables_encode_as_ground_stations_expect():
    # PX4: main << 16 | sub << 24; MAVSDK's DO_SET_MODE for Mission is (1|128, 4, 4).
    assert PX4.entry(FlightMode.AUTO, True).custom_mode == 0x04040000
    assert PX4.command_params(0x04040000, True) == (129.0, 4.0, 4.0)
    assert PX4.from_command(129, 4, 3) == PX4.entry(FlightMode.HOLD, True).custom_mode
    assert ARDUPILOT.entry(FlightMode.AUTO, True).custom_mode == 3
    assert ARDUPILOT.entry(FlightMode.AUTO, False).custom_mode == 10
    assert ARDUPILOT.entry(FlightMode.HOLD, True).name == "LOITER"
    assert ARDUPILOT.entry(FlightMode.HOLD, False).name == "HOLD"
    assert ARDUPILOT.from_command(1, 6, 0) == 6
    mavutil = load_mavutil()
    for number, name in mavutil.mode_mapping_acm.items():    # pymavlink's (MAVProxy's) copter names
        entry = ARDUPILOT.decode(number, True)
        assert entry is None or entry.name == name
    for number, name in mavutil.mode_mapping_rover.items():
        entry = ARDUPILOT.decode(number, False)
        assert entry is None or entry.name == name


def test_arming_rules():
    v = make_vehicle("copter", "ardupilot")
    gcs = Gcs(v.link.local_port, pump=v.tick)
    rtl = ARDUPILOT.entry(FlightMode.RTL, True)
    gcs.command(MavCmd.DO_SET_MODE, 1, rtl.custom_mode)
    assert gcs.command(MavCmd.COMPONENT_ARM_DISARM, 1).result == MavResult.DENIED       # not in RTL
    assert gcs.seen("STATUSTEXT", lambda m: "Arm" in m.text)
    gcs.command(MavCmd.DO_SET_MODE, 1, ARDUPILOT.entry(FlightMode.GUIDED, True).custom_mode)
    assert gcs.command(MavCmd.COMPONENT_ARM_DISARM, 1).result == MavResult.ACCEPTED
    assert gcs.command(MavCmd.NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 6.0).result == MavResult.ACCEPTED
    v.run(10.0, until=lambda: v.ap.model.state.z > 5.5)
    assert v.ap.model.state.z == pytest.approx(6.0, abs=0.5)
    assert gcs.command(MavCmd.COMPONENT_ARM_DISARM, 0).result == MavResult.DENIED       # in the air
    assert gcs.command(MavCmd.NAV_LAND).result == MavResult.ACCEPTED
    v.run(30.0, until=lambda: not v.ap.armed)
    assert v.ap.model.state.landed and not v.ap.armed                                   # disarms once down
    gcs.close(), v.ap.close()


def test_parameters_list_read_set():
    v = make_vehicle("copter", "px4")
    gcs = Gcs(v.link.local_port, pump=v.tick)
    gcs.mav.param_request_list_send(1, 1)
    values = {}
    while True:
        msg = gcs.recv("PARAM_VALUE", timeout=0.5)
        if msg is None:
            break
        values[msg.param_id] = msg
    assert len(values) == len(v.ap.params) and all(m.param_count == len(v.ap.params) for m in values.values())
    assert values["MPC_XY_CRUISE"].param_value == pytest.approx(5.0)
    # PX4 encodes integers bytewise in the float field.
    sysid = values["MAV_SYS_ID"]
    assert struct.unpack("<i", struct.pack("<f", sysid.param_value))[0] == 1
    gcs.mav.param_set_send(1, 1, b"MPC_XY_CRUISE", 7.5, 9)
    echo = gcs.recv("PARAM_VALUE", cond=lambda m: m.param_id == "MPC_XY_CRUISE")
    assert echo.param_value == pytest.approx(7.5) and v.ap.speed_mps == pytest.approx(7.5)
    gcs.mav.param_set_send(1, 1, b"MPC_XY_CRUISE", 500.0, 9)                # out of range: unchanged
    echo = gcs.recv("PARAM_VALUE", cond=lambda m: m.param_id == "MPC_XY_CRUISE")
    assert echo.param_value == pytest.approx(7.5)
    gcs.mav.param_request_read_send(1, 1, b"", v.ap.params.index("RTL_RETURN_ALT"))
    assert gcs.recv("PARAM_VALUE", cond=lambda m: m.param_id == "RTL_RETURN_ALT").param_value == 60.0
    gcs.close(), v.ap.close()


def test_signing_ignores_unsigned_commands():
    key = bytes(range(32))
    v = make_vehicle("copter", "ardupilot", signing_key=key)
    plain = Gcs(v.link.local_port, pump=v.tick)
    assert plain.command(MavCmd.COMPONENT_ARM_DISARM, 1, timeout=0.5) is None
    assert not v.ap.armed and v.link.rejected >= 1
    hb = plain.recv("HEARTBEAT")          # telemetry still flows (signed) to a station without the key
    assert hb is not None and hb.get_msgbuf()[2] & 0x01     # incompat flag: MAVLINK_IFLAG_SIGNED
    signed = Gcs(v.link.local_port, pump=v.tick, signing_key=key)
    ack = signed.command(MavCmd.COMPONENT_ARM_DISARM, 1)
    assert ack.result == MavResult.ACCEPTED and v.ap.armed
    wrong = Gcs(v.link.local_port, pump=v.tick, signing_key=bytes(32 * [7]))
    assert wrong.command(MavCmd.COMPONENT_ARM_DISARM, 0, timeout=0.5) is None and v.ap.armed
    plain.close(), signed.close(), wrong.close(), v.ap.close()


def test_config_is_validated():
    with pytest.raises(ConfigError, match="sysid"):
        AutopilotConfig(sysid=255)
    with pytest.raises(ValueError, match="unknown autopilot"):
        AutopilotConfig(autopilot="inav")
    with pytest.raises(ConfigError, match="latitude"):
        AutopilotConfig(home_lat_deg=95.0)
    with pytest.raises(ConfigError, match="RTL_RETURN_ALT"):
        make_vehicle("copter", "px4", link=False, params={"RTL_RETURN_ALT": -5})
