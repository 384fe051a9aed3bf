"""The tractor driver against the simulated tractor ECU across a real UDP socket, and the link codec."""
from __future__ import annotations

import math
import socket
import time

import numpy as np
import pytest
from agrifleet.core.codec import packb
from agrifleet.core.errors import CommandRejected, ConfigError, DriverTimeout, ProtocolError
from agrifleet.core.geo import LocalFrame
from agrifleet.core.plan import Plan, SegmentKind, make_path
from agrifleet.drivers.base import GnssQuality, MissionState
from agrifleet.drivers.tractor import TractorDriver
from agrifleet.drivers.tractor_link import EcuFault, LinkMsg, decode, encode
from agrifleet.sim.tractor_ecu import TractorEcu
from agrifleet.sim.vehicles import EXAMPLE_TRACTOR, TractorModel
from agrifleet.sim.world import World

RTF = 2.0  # the world runs twice as fast as the wall clock; guidance runs on the wall clock


@pytest.fixture()
def rig(request):
    frame = getattr(request, "param", None)
    world = World(rng=np.random.default_rng(5), dt_s=0.05, frame=frame)
    world.add_vehicle("t1", TractorModel(EXAMPLE_TRACTOR))
    ecu = TractorEcu(world, "t1", watchdog_s=1.0).start(step_world=True, real_time_factor=RTF)
    drv = TractorDriver("t1", ecu.url, control_period_s=0.05 / RTF * 2, telemetry_period_s=0.1)
    yield world, ecu, drv
    drv.close()
    ecu.close()


def swath(length: float = 20.0, frame: LocalFrame | None = None) -> Plan:
    path = make_path([(0, 0), (length, 0)], kind=SegmentKind.SWATH, speed_mps=2.5, sections=0b11, swath=0)
    return Plan(path, frame=frame)


def wait_for(cond, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.slow
def test_drives_a_plan_over_the_link_with_progress_and_sections(rig):
    world, ecu, drv = rig
    drv.connect(timeout_s=5.0)
    assert "reverse" in drv.capabilities.features
    drv.upload(swath())
    drv.start()
    assert wait_for(lambda: drv.mission_state is MissionState.COMPLETE)
    samples = list(drv.telemetry())
    assert samples and all(s.gnss is GnssQuality.RTK_FIXED for s in samples)
    idx = [s.plan_index for s in samples]
    assert idx == sorted(idx) and idx[-1] == 1
    assert any(s.sections == 0b11 for s in samples)
    lag = EXAMPLE_TRACTOR.hitch_offset_m + EXAMPLE_TRACTOR.implement_offset_m
    st = world.state("t1")
    assert st.x == pytest.approx(20.0 + lag, abs=0.5) and abs(st.y) < 0.1
    assert ecu.bad_datagrams == 0


@pytest.mark.slow
@pytest.mark.parametrize("rig", [LocalFrame(52.0, 5.0)], indirect=True)
def test_geographic_ecu_positions_are_put_in_the_plan_frame(rig):
    world, ecu, drv = rig
    drv.connect(timeout_s=5.0)
    with pytest.raises(CommandRejected, match="no frame"):
        drv.upload(swath())
    drv.upload(swath(12.0, frame=world.frame))
    drv.start()
    assert wait_for(lambda: drv.mission_state is MissionState.COMPLETE)
    last = list(drv.telemetry())[-1]
    assert not math.isnan(last.lat_deg)
    assert last.x == pytest.approx(world.state("t1").x, abs=0.3)


def test_a_silent_agent_trips_the_ecu_watchdog(rig):
    world, ecu, drv = rig
    drv.connect(timeout_s=5.0)
    drv.upload(swath(200.0))
    drv.start()
    assert wait_for(lambda: world.state("t1").speed_mps > 2.0)
    drv._stop.set()  # the agent dies: no more commands, not even a goodbye
    drv._thread.join()
    assert wait_for(lambda: world.state("t1").speed_mps == 0.0, 10.0)
    assert ecu.fault is EcuFault.WATCHDOG and world.state("t1").sections == 0


def test_estop_latches_until_reset(rig):
    world, ecu, drv = rig
    drv.connect(timeout_s=5.0)
    drv.upload(swath(200.0))
    drv.start()
    assert wait_for(lambda: world.state("t1").speed_mps > 1.0)
    drv.estop()
    assert drv.mission_state is MissionState.ABORTED
    assert wait_for(lambda: world.state("t1").speed_mps == 0.0, 10.0)
    assert wait_for(lambda: ecu.fault is EcuFault.ESTOP)
    drv.upload(swath(200.0))
    with pytest.raises(CommandRejected, match="ESTOP"):
        drv.start()
    drv.reset_estop()
    assert wait_for(lambda: ecu.fault is not EcuFault.ESTOP)
    drv.start()
    assert wait_for(lambda: world.state("t1").speed_mps > 1.0)


def test_bad_datagrams_are_dropped_and_the_ecu_keeps_serving(rig):
    world, ecu, drv = rig
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for junk in (b"\xc1", packb([1, 2]), packb({"v": 9, "k": 3, "seq": 1}),
                     packb({"v": 1, "k": 3, "seq": 1, "steer": "left", "speed": 1.0, "sections": 0,
                            "engage": True}),
                     encode(LinkMsg.STATE, 1, t=0.0, heading=0.0, speed=0.0, steer=0.0, sections=0, gnss=4,
                            engaged=False, fault=0, tank=0.0, x=0.0, y=0.0)):
            s.sendto(junk, ecu.address)
    finally:
        s.close()
    assert wait_for(lambda: ecu.bad_datagrams == 5, 5.0)
    drv.connect(timeout_s=5.0)  # still answers
    assert world.state("t1").speed_mps == 0.0
    drv.close()
    ecu.close()
    with pytest.raises(DriverTimeout):  # a reconnect has to hear the ECU again
        drv.connect(timeout_s=0.3)


def test_connect_to_nobody_times_out_and_bad_urls_are_config_errors():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))  # a port that never answers
    port = s.getsockname()[1]
    try:
        drv = TractorDriver("t", f"udp://127.0.0.1:{port}")
        with pytest.raises(DriverTimeout, match=r"connect\(\) -> TIMEOUT"):
            drv.connect(timeout_s=0.3)
    finally:
        s.close()
    for url in (None, "tcp://1.2.3.4:5", "udp://host"):
        with pytest.raises(ConfigError):
            TractorDriver("t", url)


def test_link_codec_round_trip_and_validation():
    data = encode(LinkMsg.COMMAND, 7, steer=0.1, speed=2, sections=3, engage=True)
    kind, msg = decode(data)
    assert kind is LinkMsg.COMMAND and msg["seq"] == 7 and msg["speed"] == 2
    with pytest.raises(ProtocolError, match="unknown message kind"):
        decode(packb({"v": 1, "k": 99, "seq": 1}))
    with pytest.raises(ProtocolError, match="'engage' missing"):
        decode(packb({"v": 1, "k": 3, "seq": 1, "steer": 0.0, "speed": 0.0, "sections": 0}))
    with pytest.raises(ProtocolError, match="not finite"):
        decode(packb({"v": 1, "k": 3, "seq": 1, "steer": math.nan, "speed": 0.0, "sections": 0,
                      "engage": True}))
    with pytest.raises(ProtocolError, match="neither x/y nor lat/lon"):
        decode(packb({"v": 1, "k": 4, "seq": 1, "t": 0.0, "heading": 0.0, "speed": 0.0, "steer": 0.0,
                      "sections": 0, "gnss": 4, "engaged": False, "fault": 0, "tank": 0.0}))
    with pytest.raises(ProtocolError, match="not a valid msgpack"):
        decode(b"\xc1\xc1")


def test_guidance_runs_every_control_period_of_the_tractors_own_clock():
    """At x20 the driver still steers every 0.1 s of the tractor's time (STATE ``t``), not every 0.1 s of
    the wall clock (which would be every 2 s of the tractor's life)."""
    world = World(rng=np.random.default_rng(5), dt_s=0.05)
    world.add_vehicle("t1", TractorModel(EXAMPLE_TRACTOR))
    ecu = TractorEcu(world, "t1").start(step_world=True, real_time_factor=20.0)
    drv = TractorDriver("t1", ecu.url, control_period_s=0.1, telemetry_period_s=0.5)
    ticks: list[float] = []
    tick = drv._tick
    drv._tick = lambda now, vt=math.nan: (ticks.append(vt), tick(now, vt))[1]
    try:
        drv.connect(timeout_s=5.0)
        drv.upload(swath(200.0))
        drv.start()
        assert wait_for(lambda: world.t_s > 12.0)
    finally:
        drv.close()
        ecu.close()
    vt = np.array([t for t in ticks if not math.isnan(t)])
    assert len(vt) > 80 and np.median(np.diff(vt)) == pytest.approx(0.1)
    assert world.state("t1").x > 10.0 and abs(world.state("t1").y) < 0.3
