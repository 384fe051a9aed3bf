"""The in-process simulator driver: lifecycle, progress, pause/abort/return home, drones, own-world thread."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest
from agrifleet.core.errors import CommandRejected, ConfigError, DriverError
from agrifleet.core.plan import Plan, SegmentKind, make_path
from agrifleet.drivers.base import GnssQuality, MissionState
from agrifleet.drivers.sim import SimDriver
from agrifleet.sim.energy import Payload
from agrifleet.sim.vehicles import EXAMPLE_DRONE, EXAMPLE_TRACTOR, TractorModel
from agrifleet.sim.world import World


def two_swaths() -> Plan:
    a = make_path([(0, 0), (30, 0)], kind=SegmentKind.SWATH, speed_mps=2.5, sections=0b11, swath=0)
    th = np.linspace(-math.pi / 2, math.pi / 2, 30)[1:-1]
    turn = make_path(np.column_stack([30 + 5 * np.cos(th), 5 + 5 * np.sin(th)]), kind=SegmentKind.TURN,
                     speed_mps=1.5)
    b = make_path([(30, 10), (0, 10)], kind=SegmentKind.SWATH, speed_mps=2.5, sections=0b11, swath=1)
    return Plan(np.concatenate([a, turn, b]))


def shared(seed: int = 1) -> tuple[World, SimDriver]:
    world = World(rng=np.random.default_rng(seed), dt_s=0.05)
    drv = SimDriver("t1", world=world, model=TractorModel(EXAMPLE_TRACTOR), clock=world.now)
    drv.connect()
    return world, drv


def test_drives_the_plan_and_reports_progress_to_complete():
    world, drv = shared()
    plan = two_swaths()
    drv.upload(plan)
    drv.start()
    world.run(200.0, until=lambda w: drv.mission_state is MissionState.COMPLETE)
    assert drv.mission_state is MissionState.COMPLETE
    samples = list(drv.telemetry())
    assert len(samples) > 100
    idx = [s.plan_index for s in samples]
    assert idx == sorted(idx) and idx[-1] == len(plan) - 1
    assert all(s.gnss is GnssQuality.RTK_FIXED for s in samples)
    assert samples[-1].t_mono_s == pytest.approx(world.t_s, abs=0.25)
    assert {s.sections for s in samples if s.mission is MissionState.ACTIVE} == {0, 0b11}
    lag = EXAMPLE_TRACTOR.hitch_offset_m + EXAMPLE_TRACTOR.implement_offset_m
    st = world.state("t1")
    assert (st.x, st.y) == (pytest.approx(-lag, abs=0.3), pytest.approx(10.0, abs=0.1))
    assert samples[-1].x == pytest.approx(st.x, abs=0.1)  # telemetry is the GNSS fix: centimetres off


def test_pause_stops_the_vehicle_and_resume_goes_on_from_where_it_was():
    world, drv = shared()
    drv.upload(two_swaths())
    drv.start()
    world.run(8.0)
    drv.pause()
    world.run(6.0)
    assert abs(world.state("t1").speed_mps) < 1e-9 and world.state("t1").sections == 0
    x_paused = world.state("t1").x
    world.run(5.0)
    assert world.state("t1").x == x_paused
    with pytest.raises(CommandRejected, match=r"pause\(\) -> DENIED"):
        drv.pause()
    drv.resume()
    world.run(200.0, until=lambda w: drv.mission_state is MissionState.COMPLETE)
    assert drv.mission_state is MissionState.COMPLETE


def test_resume_upload_starts_at_the_given_index_and_bad_calls_are_typed_errors():
    world, drv = shared()
    plan = two_swaths()
    with pytest.raises(CommandRejected, match="NO_PLAN"):
        drv.start()
    with pytest.raises(CommandRejected, match="INVALID"):
        drv.upload(plan, start_index=len(plan))
    world.model("t1").place(30.0, 10.0, math.pi, world)
    drv.upload(plan, start_index=len(plan) - 2)
    drv.start()
    world.run(60.0, until=lambda w: drv.mission_state is MissionState.COMPLETE)
    assert drv.mission_state is MissionState.COMPLETE
    assert world.t_s < 25.0  # only the last swath was driven
    with pytest.raises(DriverError, match="NOT_CONNECTED"):
        SimDriver("x").start()


def test_abort_holds_and_return_home_drives_back():
    world, drv = shared()
    world.model("t1").place(0.0, 0.0, 0.0, world)
    drv.upload(two_swaths())
    drv.start()
    world.run(10.0)
    drv.abort()
    world.run(6.0)
    assert drv.mission_state is MissionState.ABORTED and world.state("t1").speed_mps == 0.0
    drv.return_home()
    assert drv.mission_state is MissionState.RETURNING
    world.run(120.0, until=lambda w: drv.mission_state is MissionState.COMPLETE)
    assert drv.mission_state is MissionState.COMPLETE
    # the straight line home ends when the tractor's rear axle is back at the start (within the tolerance)
    assert math.hypot(world.state("t1").x, world.state("t1").y) < 1.5


def test_drone_takes_off_flies_the_plan_and_lands():
    world = World(rng=np.random.default_rng(3), dt_s=0.05)
    drv = SimDriver("d1", world=world, spec="drone", clock=world.now,
                    payload=Payload.uniform(5.0, 1, rate_per_ha=20.0))
    drv.connect()
    pts = [(0, 0), (40, 0), (40, 5), (0, 5)]
    plan = Plan(make_path(pts, kind=SegmentKind.SWATH, speed_mps=5.0, sections=1, z_m=3.0))
    drv.upload(plan)
    drv.start()
    world.run(200.0, until=lambda w: drv.mission_state is MissionState.COMPLETE)
    assert drv.mission_state is MissionState.COMPLETE
    s = world.state("d1")
    assert s.landed and not s.armed and math.hypot(s.x, s.y - 5.0) < 0.5
    samples = list(drv.telemetry())
    flying = [x.z for x in samples if x.plan_index >= 1 and x.mission is MissionState.ACTIVE]
    assert np.median(flying) == pytest.approx(3.0, abs=0.1)
    assert samples[-1].tank_l < samples[0].tank_l  # it sprayed
    assert samples[-1].battery_pct < samples[0].battery_pct


def test_same_seed_gives_the_same_trial():
    def trial() -> tuple[float, float, float]:
        world = World(rng=np.random.default_rng(11), dt_s=0.05)
        drv = SimDriver("t1", world=world, spec="tractor", implement="sprayer:boom_width_m=12,n_sections=2",
                        clock=world.now)
        drv.connect()
        drv.upload(two_swaths())
        drv.start()
        world.run(30.0)
        s = world.state("t1")
        return s.x, s.y, s.tank_l

    first = trial()
    assert first == trial()
    assert first[2] < 3000.0  # the sprayer's 150 l/ha drained the tank


def test_own_world_runs_in_a_thread_at_the_real_time_factor():
    drv = SimDriver("t9", spec="tractor", seed=2, real_time_factor=50.0)
    try:
        drv.connect()
        plan = Plan(make_path([(0, 0), (25, 0)], kind=SegmentKind.SWATH, speed_mps=2.5, sections=1))
        drv.upload(plan)
        drv.start()
        deadline = time.monotonic() + 20.0
        seen = []
        while drv.mission_state is not MissionState.COMPLETE and time.monotonic() < deadline:
            seen.extend(drv.telemetry(timeout_s=0.5))
        assert drv.mission_state is MissionState.COMPLETE
        assert seen and seen[-1].t_mono_s >= seen[0].t_mono_s
        assert drv.capabilities.kinds == frozenset({"tractor"}) and "reverse" in drv.capabilities.features
    finally:
        drv.close()
        drv.close()


def test_a_gnss_outage_stops_the_tractor_until_the_fix_returns():
    world = World(rng=np.random.default_rng(2), dt_s=0.05)
    drv = SimDriver("t1", world=world, spec="tractor", clock=world.now,
                    gnss_options={"outages": ((5.0, 12.0),), "reconverge_s": 3.0})
    drv.connect()
    drv.upload(two_swaths())
    drv.start()
    world.run(11.5)
    assert world.state("t1").speed_mps == 0.0  # stopped, waiting for a position
    x_wait = world.state("t1").x
    world.run(200.0, until=lambda w: drv.mission_state is MissionState.COMPLETE)
    assert drv.mission_state is MissionState.COMPLETE and x_wait < 15.0
    qualities = [s.gnss for s in drv.telemetry()]
    assert GnssQuality.NONE in qualities and GnssQuality.RTK_FLOAT in qualities
    assert qualities[-1] is GnssQuality.RTK_FIXED


def test_drone_returns_home_and_lands_after_an_abort():
    world = World(rng=np.random.default_rng(3), dt_s=0.05)
    drv = SimDriver("d1", world=world, spec="drone", clock=world.now, start_pose=(0.0, 0.0, 0.0))
    drv.connect()
    plan = Plan(make_path([(0, 0), (60, 0), (60, 20)], kind=SegmentKind.SWATH, speed_mps=5.0))  # no heights
    drv.upload(plan)
    drv.start()
    world.run(12.0)
    assert world.state("d1").z == pytest.approx(EXAMPLE_DRONE.cruise_alt_m, abs=0.2)  # flies at cruise height
    drv.abort()
    world.run(3.0)
    s = world.state("d1")
    assert not s.landed and s.speed_mps < 0.5  # hovering
    drv.return_home()
    world.run(120.0, until=lambda w: drv.mission_state is MissionState.COMPLETE)
    s = world.state("d1")
    assert drv.mission_state is MissionState.COMPLETE and s.landed and not s.armed
    assert math.hypot(s.x, s.y) < 1.0
    with pytest.raises(ConfigError, match="bad gnss option"):
        SimDriver("x", world=world, spec="drone", gnss_options={"nonsense": 1}).connect()
    assert "x" not in world.vehicles
