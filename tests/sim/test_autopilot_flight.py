"""The simulated autopilot flying: missions (track, progress, DO items, pause/resume, jumps), return to
launch and landing, and the failsafes (battery, ground-station link, geofence), in both personalities.

Everything runs in stepped simulated time: the ground station's requests are served between world steps
and nothing depends on the wall clock (the autopilot is given the world's clock as its wall clock).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from agrifleet.sim._mav_modes import ARDUPILOT, PX4, FlightMode
from agrifleet.sim._mav_params import FailsafeAction
from agrifleet.sim._mav_proto import MavCmd, MavResult, MissionState, SensorBit
from agrifleet.sim.vehicles import EXAMPLE_DRONE

from ._gcs import Gcs, do_item, home_item, latlon_at, make_vehicle, waypoint


def _start(v, gcs: Gcs, autopilot: str, air: bool) -> None:
    personality = PX4 if autopilot == "px4" else ARDUPILOT
    assert gcs.command(MavCmd.COMPONENT_ARM_DISARM, 1).result == MavResult.ACCEPTED
    auto = personality.entry(FlightMode.AUTO, air)
    assert gcs.command(MavCmd.DO_SET_MODE, *personality.command_params(auto.custom_mode, True)).result == 0
    if autopilot == "ardupilot":
        assert gcs.command(MavCmd.MISSION_START).result == MavResult.ACCEPTED


def _fly(v, gcs, seconds: float, until=None, beat: bool = True) -> np.ndarray:
    """Step, recording the true position; returns ``(N, 3)`` x, y, z relative to home. The ground station
    sends its 1 Hz heartbeat (simulated time) unless ``beat`` is False."""
    hx, hy, hz = v.ap.home_xyz
    track = []
    every = round(1.0 / v.world.dt_s)

    def record() -> bool:
        if v.world.steps % every == 0:
            gcs.collect()
            if beat:
                gcs.heartbeat()
        s = v.ap.model.state
        track.append((s.x - hx, s.y - hy, s.z - hz))
        return until is not None and until()
    v.run(seconds, until=record)
    return np.array(track)


def _min_dist(track: np.ndarray, x: float, y: float) -> float:
    return float(np.min(np.hypot(track[:, 0] - x, track[:, 1] - y)))


@pytest.mark.parametrize("autopilot", ["px4", "ardupilot"])
def test_copter_mission_passes_every_waypoint_and_completes(autopilot):
    v = make_vehicle("copter", autopilot)
    gcs = Gcs(v.link.local_port, pump=v.pump)
    square = [(20, 0, 6), (20, 20, 6), (0, 20, 4), (0, 0, 4)]
    items = [home_item(), (3, 22, 0, 0, 0, 0, 0.0, 0.0, 6.0)] if autopilot == "ardupilot" else []
    items += [waypoint(x, y, z) for x, y, z in square]
    assert gcs.upload(items).type == 0
    _start(v, gcs, autopilot, True)
    track = _fly(v, gcs, 120, until=lambda: v.ap.executor.state is MissionState.COMPLETE)
    assert v.ap.executor.state is MissionState.COMPLETE
    for x, y, _z in square:
        assert _min_dist(track, x, y) < 0.6, (x, y)
    first = 1 if autopilot == "ardupilot" else 0
    assert [m.seq for m in gcs.seen("MISSION_ITEM_REACHED")] == list(range(first, len(items)))
    assert gcs.seen("MISSION_CURRENT", lambda m: m.mission_state == MissionState.COMPLETE)
    seqs = [m.seq for m in gcs.seen("MISSION_CURRENT", lambda m: m.mission_state >= MissionState.ACTIVE)]
    assert sorted(set(seqs)) == list(range(first, len(items)))      # every item was current, in order
    _fly(v, gcs, 5)                                                 # then it holds at the last waypoint
    s = v.ap.model.state
    assert math.hypot(s.x - v.ap.home_xyz[0], s.y - v.ap.home_xyz[1]) < 0.5
    assert s.z == pytest.approx(4.0, abs=0.3)
    assert not s.landed and v.ap.armed
    reported = gcs.recv("GLOBAL_POSITION_INT")
    assert reported.relative_alt == pytest.approx(4000, abs=300)


def test_rover_drives_a_dense_polyline_without_stopping():
    v = make_vehicle("rover", "ardupilot")
    gcs = Gcs(v.link.local_port, pump=v.pump)
    theta = np.linspace(-math.pi / 2, math.pi / 2, 25)
    arc = np.column_stack([20 + 15 * np.cos(theta), 15 + 15 * np.sin(theta)])   # half circle, r = 15 m
    line = np.column_stack([np.linspace(19, -10, 6), np.full(6, 30.0)])
    pts = np.vstack([[[10.0, 0.0]], arc, line])
    assert gcs.upload([home_item()] + [waypoint(x, y, 0) for x, y in pts]).type == 0
    _start(v, gcs, "ardupilot", False)
    speeds = []
    track = _fly(v, gcs, 150, until=lambda: speeds.append(v.ap.model.state.speed_mps) or
                 v.ap.executor.state is MissionState.COMPLETE)
    assert v.ap.executor.state is MissionState.COMPLETE
    on_arc = (track[:, 0] > 22.0) & (track[:, 1] > 3.0) & (track[:, 1] < 27.0)
    assert on_arc.sum() > 100
    assert np.min(np.array(speeds)[:len(track)][on_arc]) > 1.0          # no stop at any of the 25 vertices
    radius = np.hypot(track[on_arc, 0] - 20.0, track[on_arc, 1] - 15.0)
    assert np.max(np.abs(radius - 15.0)) < 0.3
    assert _min_dist(track, -10.0, 30.0) < 0.3
    assert len(gcs.seen("MISSION_ITEM_REACHED")) == len(pts)


def test_do_items_switch_the_implement_and_speed_where_planned():
    v = make_vehicle("rover", "ardupilot")
    gcs = Gcs(v.link.local_port, pump=v.pump)
    items = [home_item(), waypoint(20, 0, 0), do_item(MavCmd.DO_CHANGE_SPEED, 1, 0.8),
             do_item(MavCmd.DO_SET_RELAY, 0, 1), waypoint(40, 0, 0), do_item(MavCmd.DO_SET_RELAY, 0, 0),
             do_item(MavCmd.DO_CHANGE_SPEED, 1, 2.0), waypoint(60, 0, 0)]
    assert gcs.upload(items).type == 0
    _start(v, gcs, "ardupilot", False)
    log = []
    _fly(v, gcs, 200, until=lambda: log.append((v.ap.model.state.x - v.ap.home_xyz[0],
                                                v.ap.model.state.sections, v.ap.model.state.speed_mps)) or
         v.ap.executor.state is MissionState.COMPLETE)
    x, sections, speed = (np.array(c) for c in zip(*log, strict=True))
    on = x[sections != 0]
    assert on.min() == pytest.approx(20.0, abs=0.3) and on.max() == pytest.approx(40.0, abs=0.3)
    assert np.all(sections[(x > 21) & (x < 39)] != 0)
    mid = (x > 25) & (x < 35)
    assert np.allclose(speed[mid], 0.8, atol=0.05)
    assert speed[(x > 48) & (x < 55)].max() == pytest.approx(2.0, abs=0.05)
    assert [m.seq for m in gcs.seen("MISSION_ITEM_REACHED")] == list(range(1, len(items)))


def test_pause_and_resume_in_both_ways():
    v = make_vehicle("copter", "px4")
    gcs = Gcs(v.link.local_port, pump=v.pump)
    assert gcs.upload([waypoint(40, 0, 5), waypoint(80, 0, 5)]).type == 0
    _start(v, gcs, "px4", True)
    _fly(v, gcs, 12)
    hold = PX4.entry(FlightMode.HOLD, True)
    assert gcs.command(MavCmd.DO_SET_MODE, *PX4.command_params(hold.custom_mode, True)).result == 0
    assert gcs.got("MISSION_CURRENT", lambda m: m.mission_state == MissionState.PAUSED) is not None
    _fly(v, gcs, 6)
    x_paused = v.ap.model.state.x
    _fly(v, gcs, 5)
    assert abs(v.ap.model.state.x - x_paused) < 0.3 and v.ap.model.state.speed_mps < 0.3
    assert gcs.command(MavCmd.MISSION_START).result == MavResult.ACCEPTED         # resume at the current item
    assert v.ap.executor.seq == 0 or v.ap.executor.seq == 1
    _fly(v, gcs, 8)
    assert gcs.command(MavCmd.DO_PAUSE_CONTINUE, 0).result == MavResult.ACCEPTED
    assert v.ap.mission_report[2] is MissionState.PAUSED
    _fly(v, gcs, 8)
    x_paused = v.ap.model.state.x
    _fly(v, gcs, 3)
    assert abs(v.ap.model.state.x - x_paused) < 0.3
    assert gcs.command(MavCmd.DO_PAUSE_CONTINUE, 1).result == MavResult.ACCEPTED
    track = _fly(v, gcs, 60, until=lambda: v.ap.executor.state is MissionState.COMPLETE)
    assert v.ap.executor.state is MissionState.COMPLETE and _min_dist(track, 80, 0) < 0.6


def test_do_jump_repeats_a_leg():
    v = make_vehicle("rover", "px4")
    gcs = Gcs(v.link.local_port, pump=v.pump)
    jump = (2, MavCmd.DO_JUMP, 0, 2, 0, 0, 0, 0, 0)        # back to seq 0, twice
    items = [waypoint(10, 0, 0), waypoint(10, 10, 0), jump, waypoint(0, 0, 0)]
    assert gcs.upload(items).type == 0
    _start(v, gcs, "px4", False)
    _fly(v, gcs, 300, until=lambda: v.ap.executor.state is MissionState.COMPLETE)
    gcs.recv("MISSION_CURRENT", timeout=0.2)
    reached = [m.seq for m in gcs.seen("MISSION_ITEM_REACHED")]
    assert reached == [0, 1, 2] * 3 + [3]


@pytest.mark.parametrize("autopilot", ["px4", "ardupilot"])
def test_rtl_climbs_returns_lands_and_disarms(autopilot):
    v = make_vehicle("copter", autopilot, params={"RTL_ALT": 1200} if autopilot == "ardupilot"
                     else {"RTL_RETURN_ALT": 12.0})
    gcs = Gcs(v.link.local_port, pump=v.pump)
    assert gcs.upload(([home_item()] if autopilot == "ardupilot" else []) + [waypoint(60, 30, 5)]).type == 0
    _start(v, gcs, autopilot, True)
    _fly(v, gcs, 60, until=lambda: v.ap.executor.state is MissionState.COMPLETE)
    assert gcs.command(MavCmd.NAV_RETURN_TO_LAUNCH).result == MavResult.ACCEPTED
    track = _fly(v, gcs, 120, until=lambda: not v.ap.armed)
    assert not v.ap.armed and v.ap.model.state.landed and not v.ap.model.crashed
    assert track[:, 2].max() == pytest.approx(12.0, abs=0.5)                 # climbed to the return height
    end = track[-1]
    assert math.hypot(end[0], end[1]) < 0.5                                 # landed at home


@pytest.mark.parametrize("autopilot", ["px4", "ardupilot"])
def test_battery_failsafe_returns_home(autopilot):
    spec = dataclasses.replace(EXAMPLE_DRONE, battery_wh=400.0)      # about 3.5 min of flight
    params = {"RTL_ALT": 1000} if autopilot == "ardupilot" else {"RTL_RETURN_ALT": 10.0}
    v = make_vehicle("copter", autopilot, spec=spec, params=params)
    gcs = Gcs(v.link.local_port, pump=v.pump)
    first = 1 if autopilot == "ardupilot" else 0
    shuttle = [waypoint(60, 0, 5), waypoint(0, 20, 5), (2, MavCmd.DO_JUMP, first, -1, 0, 0, 0, 0, 0)]
    assert gcs.upload(([home_item()] if autopilot == "ardupilot" else []) + shuttle).type == 0
    _start(v, gcs, autopilot, True)
    _fly(v, gcs, 400, until=lambda: bool(v.ap.failsafes.events))
    event = v.ap.failsafes.events[0]
    low = 0.15 if autopilot == "px4" else 0.20
    assert event.kind == "battery" and event.action is FailsafeAction.RTL
    assert event.t_s > 100 and v.ap.battery_frac == pytest.approx(low, abs=0.01)
    assert v.ap.behaviour is FlightMode.RTL
    assert gcs.got("STATUSTEXT", lambda m: "battery" in m.text, timeout=0.2)
    away = math.hypot(*np.subtract(v.xy, v.ap.home_xyz[:2]))
    track = _fly(v, gcs, 200, until=lambda: not v.ap.armed)
    s = v.ap.model.state
    assert not v.ap.armed and s.landed and not v.ap.model.crashed
    assert away > 5.0 and math.hypot(s.x - v.ap.home_xyz[0], s.y - v.ap.home_xyz[1]) < 1.0
    assert track[:, 2].max() == pytest.approx(10.0, abs=0.5) and s.battery_wh > 0


@pytest.mark.parametrize("kind,autopilot,expect", [("copter", "ardupilot", FlightMode.RTL),
                                                   ("copter", "px4", FlightMode.RTL),
                                                   ("rover", "ardupilot", FlightMode.HOLD),
                                                   ("rover", "px4", FlightMode.HOLD)])
def test_ground_station_loss(kind, autopilot, expect):
    v = make_vehicle(kind, autopilot)
    gcs = Gcs(v.link.local_port, pump=v.pump)
    first = [home_item()] if autopilot == "ardupilot" else []
    assert gcs.upload(first + [waypoint(300, 0, 5)]).type == 0
    _start(v, gcs, autopilot, kind == "copter")
    _fly(v, gcs, 15.0)                        # 15 s with a 1 Hz heartbeat: no failsafe
    assert not v.ap.failsafes.events and v.ap.behaviour is FlightMode.AUTO
    timeout = v.ap.params.setting("gcs_timeout_s")
    gcs.heartbeat()
    v.pump()
    t_silent = v.world.t_s
    _fly(v, gcs, timeout + 5, until=lambda: bool(v.ap.failsafes.events), beat=False)
    event = v.ap.failsafes.events[0]
    assert event.kind == "gcs" and event.t_s - t_silent == pytest.approx(timeout, abs=1.1)
    assert v.ap.behaviour is expect
    if expect is FlightMode.HOLD:
        _fly(v, gcs, 10, beat=False)
        assert v.ap.model.state.speed_mps == pytest.approx(0.0, abs=0.05)
        assert v.ap.model.state.x - v.ap.home_xyz[0] > 20            # stopped where it was, not at home
    else:
        _fly(v, gcs, 200, until=lambda: not v.ap.armed, beat=False)
        assert not v.ap.armed and math.hypot(*np.subtract(v.xy, v.ap.home_xyz[:2])) < 1.0


def test_circular_geofence_breach_sends_a_copter_home():
    v = make_vehicle("copter", "ardupilot", params={"FENCE_ENABLE": 1, "FENCE_RADIUS": 40})
    gcs = Gcs(v.link.local_port, pump=v.pump)
    assert gcs.upload([home_item(), waypoint(80, 0, 5)]).type == 0
    _start(v, gcs, "ardupilot", True)
    track = _fly(v, gcs, 60, until=lambda: bool(v.ap.failsafes.events))
    event = v.ap.failsafes.events[0]
    assert event.kind == "fence" and event.action is FailsafeAction.RTL and v.ap.behaviour is FlightMode.RTL
    assert track[-1, 0] == pytest.approx(40.0, abs=0.5)
    assert not v.ap.sensor_health & SensorBit.GEOFENCE
    track = _fly(v, gcs, 120, until=lambda: not v.ap.armed)
    assert track[:, 0].max() < 45.0 and not v.ap.armed                      # never went much further


def test_polygon_fence_holds_a_rover():
    v = make_vehicle("rover", "px4")
    gcs = Gcs(v.link.local_port, pump=v.pump)
    square = [(-10, -10), (30, -10), (30, 10), (-10, 10)]
    fence = [(6, MavCmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION, 4, 0, 0, 0, *latlon_at(x, y), 0.0)
             for x, y in square]
    assert gcs.upload(fence, mission_type=1).type == 0
    assert gcs.upload([waypoint(60, 0, 0)]).type == 0
    _start(v, gcs, "px4", False)
    _fly(v, gcs, 60, until=lambda: bool(v.ap.failsafes.events))
    event = v.ap.failsafes.events[0]
    assert event.kind == "fence" and event.action is FailsafeAction.HOLD and v.ap.behaviour is FlightMode.HOLD
    _fly(v, gcs, 10)
    x = v.ap.model.state.x - v.ap.home_xyz[0]
    assert 30.0 < x < 33.0 and v.ap.model.state.speed_mps == pytest.approx(0.0, abs=0.05)
    status = gcs.recv("SYS_STATUS")
    assert status is not None
