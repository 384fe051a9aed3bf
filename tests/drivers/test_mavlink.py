"""The MAVLink driver against the simulated autopilot (both personalities), over loopback UDP.

The vehicle runs in a background thread at a high speed factor; the driver is used exactly as the agent
uses it: connect, upload (with read-back), start, pause/resume, abort, return home, telemetry.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pytest

from agrifleet.core.errors import CommandRejected, ConfigError, DriverError, DriverTimeout
from agrifleet.core.geo import LocalFrame
from agrifleet.core.implement import build_implement
from agrifleet.core.plan import Plan, SegmentKind, make_path
from agrifleet.drivers.base import GnssQuality, MissionState
from agrifleet.drivers.mavlink import MavlinkDriver, mavlink_url
from agrifleet.sim._mav_links import Link
from agrifleet.sim._mav_modes import FlightMode
from agrifleet.sim._mav_runner import Runner
from agrifleet.sim.autopilot import AutopilotConfig, SimAutopilot
from agrifleet.sim.vehicles import EXAMPLE_DRONE, EXAMPLE_ROVER, model_for
from agrifleet.sim.world import World

FRAME = LocalFrame(52.0, 5.0)
SPEED = 30.0


@dataclass
class Rig:
    world: World
    ap: SimAutopilot
    runner: Runner
    driver: MavlinkDriver
    port: int

    def close(self) -> None:
        self.driver.close()
        self.runner.stop()
        self.ap.close()


def make_rig(kind: str, autopilot: str, *, sysid: int = 1, key: bytes | None = None,
             driver_key: bytes | None = None, connect: bool = True, speed: float = SPEED,
             vehicle_implement: str | None = None, **driver_options) -> Rig:
    world = World(rng=np.random.default_rng(1), dt_s=0.05, frame=FRAME)
    link = Link("udpin:127.0.0.1:0", sysid=sysid, compid=1)
    config = AutopilotConfig(autopilot=autopilot, home_lat_deg=52.0, home_lon_deg=5.0, sysid=sysid,
                             signing_key=key)
    implement = build_implement(vehicle_implement) if vehicle_implement else None
    model = model_for(EXAMPLE_DRONE if kind == "copter" else EXAMPLE_ROVER)
    ap = SimAutopilot(world, f"v{sysid}", model, config, links=[link], implement=implement)
    runner = Runner(world, [ap], speed_factor=speed).start()
    driver = MavlinkDriver(f"v{sysid}", f"udpout:127.0.0.1:{link.local_port}", signing_key=driver_key,
                           **driver_options)
    rig = Rig(world, ap, runner, driver, link.local_port)
    if connect:
        driver.connect(5.0)
    return rig


@pytest.fixture
def rigs():
    made: list[Rig] = []

    def make(*args, **kwargs) -> Rig:
        rig = make_rig(*args, **kwargs)
        made.append(rig)
        return rig
    yield make
    for rig in made:
        rig.close()


def lawnmower(air: bool, sections: bool = False, length: float = 40.0, passes: int = 3) -> Plan:
    """Passes ``length`` m long, 8 m apart, joined by semicircles; sections on along the passes."""
    parts = []
    for k in range(passes):
        y = 8.0 * k
        xs = np.linspace(0, length, 21) if k % 2 == 0 else np.linspace(length, 0, 21)
        parts.append(make_path(np.column_stack([xs, np.full(21, y)]), kind=SegmentKind.SWATH, speed_mps=3.0,
                               sections=1 if sections else 0, swath=k, z_m=4.0 if air else 0.0))
        if k + 1 < passes:
            a = np.linspace(-math.pi / 2, math.pi / 2, 13)[1:-1]
            cx = length if k % 2 == 0 else 0.0
            sign = 1.0 if k % 2 == 0 else -1.0
            turn = np.column_stack([cx + sign * 4.0 * np.cos(a), y + 4.0 + 4.0 * np.sin(a)])
            parts.append(make_path(turn, kind=SegmentKind.TURN, speed_mps=2.0, z_m=4.0 if air else 0.0))
    return Plan(np.concatenate(parts), frame=FRAME)


def run_until(driver: MavlinkDriver, cond, timeout_s: float = 30.0) -> list:
    samples = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        samples += list(driver.telemetry(0.2))
        if cond(samples):
            return samples
    raise AssertionError(f"condition not met; last sample {samples[-1] if samples else None}")


def test_urls_in_both_spellings():
    assert mavlink_url(None) == "udpin:0.0.0.0:14540"
    assert mavlink_url("udp://:14540") == "udpin:0.0.0.0:14540"
    assert mavlink_url("udpout://10.0.0.2:14550") == "udpout:10.0.0.2:14550"
    assert mavlink_url("tcp://192.168.1.5:5760") == "tcp:192.168.1.5:5760"
    assert mavlink_url("serial:///dev/ttyUSB0:57600") == "/dev/ttyUSB0,57600"
    assert mavlink_url("udpin:0.0.0.0:14560") == "udpin:0.0.0.0:14560"
    with pytest.raises(ConfigError, match="no port"):
        mavlink_url("udp://localhost")
    with pytest.raises(ConfigError, match="signing key"):
        MavlinkDriver("x", signing_key="12")


@pytest.mark.parametrize("kind,autopilot", [("copter", "px4"), ("rover", "ardupilot")])
def test_connect_detects_autopilot_and_vehicle(rigs, kind, autopilot):
    rig = rigs(kind, autopilot, sysid=7)
    caps = rig.driver.capabilities
    mav_type = 2 if kind == "copter" else 10
    assert caps.extra == {"autopilot": autopilot, "mav_type": mav_type, "target_system": 7}
    assert caps.kinds == ({"multirotor"} if kind == "copter" else {"rover", "tractor"})
    assert caps.max_mission_items == (2000 if autopilot == "px4" else 724)
    assert rig.driver.autopilot_capabilities & 4              # MISSION_INT, from AUTOPILOT_VERSION
    sample = run_until(rig.driver, lambda s: len(s) > 0)[-1]
    assert sample.lat_deg == pytest.approx(52.0, abs=1e-6) and sample.gnss is GnssQuality.RTK_FIXED
    assert not sample.armed and sample.mode == "hold"


def test_connect_times_out_with_a_clear_error():
    driver = MavlinkDriver("nobody", "udpin:127.0.0.1:0")
    with pytest.raises(DriverTimeout, match="no ArduPilot or PX4 autopilot heard"):
        driver.connect(0.5)
    driver.close()
    with pytest.raises(DriverError, match="connect\\(\\) first"):
        driver.start()


@pytest.mark.parametrize("kind,autopilot", [("copter", "px4"), ("copter", "ardupilot"), ("rover", "px4"),
                                            ("rover", "ardupilot")])
def test_plan_is_flown_and_progress_maps_to_plan_samples(rigs, kind, autopilot):
    rig = rigs(kind, autopilot)
    plan = lawnmower(kind == "copter")
    rig.driver.upload(plan)
    part = rig.driver._parts[0]
    stored = rig.ap.mission.items()
    assert len(stored) == len(part.items)                           # what was read back is what flies
    assert (part.first_seq == 1) == (autopilot == "ardupilot")
    rig.driver.start()
    samples = run_until(rig.driver, lambda s: s and s[-1].mission is MissionState.COMPLETE, 60)
    index = [s.plan_index for s in samples]
    assert index == sorted(index) and index[-1] == len(plan) - 1
    assert len(set(index)) > 10                                       # progress in many steps
    active = [s for s in samples if s.mission is MissionState.ACTIVE and math.isfinite(s.x)]
    xy = np.array([(s.x, s.y) for s in active])
    for px, py in plan.xy[::5]:                                      # the reported track covers the plan
        assert np.min(np.hypot(xy[:, 0] - px, xy[:, 1] - py)) < 1.0
    if kind == "copter":                                             # drones fly at the plan's height...
        assert np.median([s.z for s in active if s.speed_mps > 2.0]) == pytest.approx(4.0, abs=0.3)
        assert not samples[-1].armed                                 # ... and come home (RTL) at the end
    assert samples[-1].mode == "auto"


def test_upload_with_start_index_resumes_mid_plan(rigs):
    rig = rigs("rover", "px4")
    plan = lawnmower(False)
    start = 50                                                   # on the second turn
    rig.driver.upload(plan, start)
    part = rig.driver._parts[0]
    assert part.samples[0] >= start
    x0, y0 = plan.xy[start]
    first = part.items[0]
    lon, lat = FRAME.to_wgs84(np.array([x0, y0]))
    assert (first[8], first[9]) == (round(lat * 1e7), round(lon * 1e7))
    rig.driver.start()
    samples = run_until(rig.driver, lambda s: s and s[-1].mission is MissionState.COMPLETE, 60)
    assert min(s.plan_index for s in samples if s.plan_index >= 0) >= start


def test_pause_resume_abort(rigs):
    rig = rigs("copter", "ardupilot")
    plan = lawnmower(True, length=80.0)
    rig.driver.upload(plan)
    rig.driver.start()
    run_until(rig.driver, lambda s: s and s[-1].plan_index > 10)
    rig.driver.pause()
    assert rig.driver.mission_state is MissionState.PAUSED and rig.ap.behaviour is FlightMode.HOLD
    time.sleep(0.3)
    s = run_until(rig.driver, lambda s: len(s) > 5)
    assert s[-1].speed_mps < 0.3 and s[-1].mission is MissionState.PAUSED
    index = s[-1].plan_index
    with pytest.raises(CommandRejected, match="start\\(\\) -> DENIED"):
        rig.driver.start()
    rig.driver.resume()
    run_until(rig.driver, lambda s: s and s[-1].plan_index > index + 5)
    rig.driver.abort()
    assert rig.driver.mission_state is MissionState.ABORTED and rig.ap.behaviour is FlightMode.HOLD
    rig.driver.upload(plan, 20)                                      # an aborted vehicle takes a new plan
    assert rig.driver.mission_state is MissionState.IDLE


@pytest.mark.parametrize("kind", ["copter", "rover"])
def test_return_home(rigs, kind):
    rig = rigs(kind, "px4")
    rig.driver.upload(lawnmower(kind == "copter"))
    rig.driver.start()
    run_until(rig.driver, lambda s: s and s[-1].plan_index > 25, 40)
    rig.driver.return_home()
    assert rig.driver.mission_state is MissionState.RETURNING
    samples = run_until(rig.driver, lambda s: s and s[-1].mission is MissionState.COMPLETE, 60)
    end = samples[-1]
    assert math.hypot(end.x, end.y) < 3.0
    assert rig.ap.behaviour is FlightMode.RTL


def test_implement_switches_where_the_plan_says(rigs):
    spec = "sprayer:boom_width_m=6,n_sections=1,actuation=relay:2"
    rig = rigs("rover", "ardupilot", implement=spec, vehicle_implement=spec)
    plan = lawnmower(False, sections=True)
    rig.driver.upload(plan)
    items = rig.driver._parts[0].items
    relays = [(it[4], it[5]) for it in items if it[1] == 181]                # DO_SET_RELAY(instance, on/off)
    assert relays[0] == (2.0, 1.0) and (2.0, 0.0) in relays
    log = []
    rig.driver.start()

    def watch(samples) -> bool:
        s = rig.ap.model.state
        log.append((s.x - rig.ap.home_xyz[0], s.y - rig.ap.home_xyz[1], s.sections))
        return bool(samples) and samples[-1].mission is MissionState.COMPLETE
    run_until(rig.driver, watch, 60)
    arr = np.array(log)
    on = arr[arr[:, 2] > 0]
    assert len(on) > 20
    # Spraying happens on the passes (y = 0, 8, 16) and not in the turns between them.
    assert np.all(np.min(np.abs(on[:, 1, None] - np.array([0.0, 8.0, 16.0])), axis=1) < 0.5)
    assert rig.ap.outputs.relays[2] is False


def test_long_plan_is_split_and_chained(rigs):
    rig = rigs("rover", "px4", max_items=12, tolerance_m=0.01)
    plan = lawnmower(False)
    rig.driver.upload(plan)
    assert rig.driver.mission_parts >= 3
    assert all(len(p.items) <= 12 for p in rig.driver._parts)
    rig.driver.start()
    samples = run_until(rig.driver, lambda s: s and s[-1].mission is MissionState.COMPLETE, 90)
    assert samples[-1].plan_index == len(plan) - 1
    assert rig.ap.mission.uploads_completed == rig.driver.mission_parts
    index = [s.plan_index for s in samples]
    assert index == sorted(index)


def test_vehicle_failsafe_is_reported_as_returning(rigs):
    rig = rigs("copter", "ardupilot")
    rig.driver.upload(lawnmower(True, length=80.0))
    rig.driver.start()
    run_until(rig.driver, lambda s: s and s[-1].plan_index > 10)
    rig.ap.set_flight_mode(FlightMode.RTL, "test: a failsafe")        # the vehicle decides on its own
    samples = run_until(rig.driver, lambda s: s and s[-1].mission is MissionState.RETURNING, 10)
    assert samples[-1].mode == "rtl"
    assert not rig.ap.failsafes.events                    # the driver's heartbeat kept the link up


def test_signing(rigs):
    key = bytes(range(1, 33))
    rig = rigs("rover", "ardupilot", key=key, driver_key=key.hex())
    rig.driver.upload(lawnmower(False, passes=1))
    rig.driver.start()
    run_until(rig.driver, lambda s: s and s[-1].mission is MissionState.ACTIVE)
    assert rig.ap.links[0].rejected == 0
    other = rigs("rover", "ardupilot", key=key, sysid=2, command_timeout_s=0.2)   # driver without the key
    assert other.driver.personality is not None                        # it hears the vehicle...
    with pytest.raises(DriverTimeout):                                 # ... which ignores its commands
        other.driver.upload(lawnmower(False, passes=1))
    assert other.ap.links[0].rejected > 0


def test_refusals_are_typed(rigs):
    rig = rigs("copter", "px4")
    with pytest.raises(CommandRejected, match="NO_PLAN"):
        rig.driver.start()
    too_short = Plan(make_path(np.array([[0.0, 0.0], [1.0, 0.0]]), kind=SegmentKind.SWATH, speed_mps=1.0),
                     frame=FRAME)
    with pytest.raises(CommandRejected, match="INVALID"):
        rig.driver.upload(too_short, 5)
    no_frame = Plan(make_path(np.array([[0.0, 0.0], [10.0, 0.0]]), kind=SegmentKind.SWATH, speed_mps=1.0))
    with pytest.raises(CommandRejected, match="geographic frame"):
        rig.driver.upload(no_frame)
    rig.ap.model.state.battery_wh = 1.0                               # below the failsafe level: no arming
    rig.driver.upload(lawnmower(True, passes=1))
    with pytest.raises(CommandRejected, match="start\\(\\) -> DENIED"):
        rig.driver.start()


def test_fast_lane_frames_match_pymavlink():
    from agrifleet.drivers._mav_fastlane import UploadLane
    from agrifleet.sim._mav_proto import load_mavutil

    mavutil = load_mavutil()
    conn = mavutil.mavlink_connection("udpout:127.0.0.1:9", source_system=254, source_component=191)
    lane = UploadLane(conn)
    vehicle = mavutil.mavlink.MAVLink(None, srcSystem=3, srcComponent=1)
    reader = mavutil.mavlink.MAVLink(None)
    try:
        for seq in (0, 1, 300, 65535):               # seq 0 and mission type 0: MAVLink 2 truncates them
            r = lane.read(vehicle.mission_request_int_encode(254, 191, seq, 0).pack(vehicle))
            assert r == ("MISSION_REQUEST_INT", seq, 0, 254, 191, 3, 1)
        ack = vehicle.mission_ack_encode(254, 191, 4, 1).pack(vehicle)
        assert lane.read(ack) == ("MISSION_ACK", 4, 1, 254, 191, 3, 1)
        assert lane.read(vehicle.mission_request_encode(0, 0, 9, 2).pack(vehicle)).kind == "MISSION_REQUEST"
        good = bytearray(vehicle.mission_request_int_encode(254, 191, 5, 0).pack(vehicle))
        good[-1] ^= 0xFF                          # bad checksum: left to pymavlink (which drops it)
        assert lane.read(bytes(good)) is None
        assert lane.read(vehicle.heartbeat_encode(2, 12, 0, 0, 3, 3).pack(vehicle)) is None
        signer = mavutil.mavlink.MAVLink(None, srcSystem=3, srcComponent=1)
        signer.signing.secret_key, signer.signing.sign_outgoing = bytes(32), True
        assert lane.read(signer.mission_request_int_encode(254, 191, 5, 0).pack(signer)) is None
        fields = (6, 16, 0, 1, 0.5, 2.0, 0.0, math.nan, 520000001, 50000002, 4.25)
        seq0 = conn.mav.seq
        frame = lane.item((3, 1), 42, fields, 0)
        msg = reader.parse_char(frame)
        assert msg.get_type() == "MISSION_ITEM_INT" and conn.mav.seq == (seq0 + 1) % 256
        got = (msg.target_system, msg.target_component, msg.seq, msg.frame, msg.command, msg.autocontinue)
        assert got == (3, 1, 42, 6, 16, 1)
        assert (msg.param1, msg.param2, msg.x, msg.y, msg.z) == (0.5, 2.0, 520000001, 50000002, 4.25)
        assert math.isnan(msg.param4) and msg.get_srcSystem() == 254 and msg.get_srcComponent() == 191
        assert UploadLane.usable(conn)
        conn.setup_signing(bytes(32))
        assert not UploadLane.usable(conn)                    # signed links take pymavlink's path
    finally:
        conn.close()


def test_fast_lane_spins_only_while_the_vehicle_answers_fast():
    import socket

    from agrifleet.drivers._mav_fastlane import SPIN_LINK_S, SPIN_MAX_S, UploadLane
    from agrifleet.sim._mav_proto import load_mavutil

    vehicle = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    vehicle.bind(("127.0.0.1", 0))
    vehicle.settimeout(2.0)
    conn = load_mavutil().mavlink_connection(f"udpout:127.0.0.1:{vehicle.getsockname()[1]}")
    lane = UploadLane(conn)

    def exchange(delay_s: float) -> bytes:
        lane.send(b"item")
        _, addr = vehicle.recvfrom(64)
        time.sleep(delay_s)
        vehicle.sendto(b"request", addr)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            data = lane.recv()
            if data:
                return data
        raise AssertionError("no reply")

    try:
        with lane.blocking(poll_s=0.01):
            assert lane.recv() == b""                      # nothing there: back after the poll period
            for _ in range(8):
                assert exchange(0.0) == b"request"
            lane.send(b"item")
            assert 0.0 < lane.spin_s <= SPIN_MAX_S * (1 + 1e-6)   # a fast link: the next recv may spin
            vehicle.recvfrom(64)
            for _ in range(12):
                exchange(3 * SPIN_LINK_S)                   # a radio: replies take milliseconds
            lane.send(b"item")
            assert lane.spin_s == 0.0                       # wait in poll at once, no spinning
    finally:
        conn.close()
        vehicle.close()
