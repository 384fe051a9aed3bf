"""Faults on schedule, and the driver wrapper through which a vehicle breaks."""
from __future__ import annotations

import numpy as np
import pytest
from agrifleet.core.errors import CommandRejected, DriverError
from agrifleet.core.plan import Plan, SegmentKind, make_path
from agrifleet.drivers.base import GnssQuality, MissionState
from agrifleet.drivers.sim import SimDriver
from agrifleet.sim._faults import FaultableDriver, FaultSchedule, VehicleHandles
from agrifleet.sim._scenario_parts import GnssFault, LinkLoss, VehicleFailure, WindGust
from agrifleet.sim.vehicles import EXAMPLE_TRACTOR
from agrifleet.sim.world import Wind, World


def rig(*faults) -> tuple[World, SimDriver, FaultableDriver, FaultSchedule, list[str]]:
    world = World(rng=np.random.default_rng(2), wind=Wind((1.0, 0.0, 0.0)))
    sim = SimDriver("t", world=world, spec=EXAMPLE_TRACTOR, start_pose=(0.0, 0.0, 0.0), clock=world.now)
    sim.connect()
    driver = FaultableDriver(sim, EXAMPLE_TRACTOR)
    silenced: list[str] = []
    handles = {"t": VehicleHandles(driver, sim.gnss, lambda: silenced.append("t"))}
    return world, sim, driver, FaultSchedule(tuple(faults), world, handles), silenced


def run_to(world: World, schedule: FaultSchedule, t_s: float) -> None:
    while world.t_s < t_s - 1e-9:
        schedule.update()
        world.step()
    schedule.update()


def test_a_gust_blows_for_its_duration_then_the_wind_returns():
    world, _, _, schedule, _ = rig(WindGust(at_s=1.0, duration_s=2.0, speed_mps=10.0, towards_deg=90.0))
    run_to(world, schedule, 0.5)
    assert world.wind_at(0, 0, 0) == pytest.approx((1.0, 0.0, 0.0))
    run_to(world, schedule, 2.0)
    assert world.wind_at(0, 0, 0) == pytest.approx((0.0, 10.0, 0.0), abs=1e-9)
    run_to(world, schedule, 3.5)
    assert world.wind_at(0, 0, 0) == pytest.approx((1.0, 0.0, 0.0))
    (applied,) = schedule.applied
    assert applied["kind"] == "wind_gust" and applied["applied_at_s"] == pytest.approx(1.0)


def test_gnss_faults_degrade_the_receiver_then_restore_it():
    world, sim, _, schedule, _ = rig(GnssFault(1.0, "t", "single", 2.0), GnssFault(4.0, "t", "none", 1.0))
    run_to(world, schedule, 1.5)
    assert sim.gnss.quality is GnssQuality.SINGLE
    run_to(world, schedule, 3.5)
    assert sim.gnss.quality is GnssQuality.RTK_FIXED and sim.gnss.outages == ()
    run_to(world, schedule, 4.0)
    assert sim.gnss.outages == ((4.0, 5.0),) and sim.gnss.in_outage(4.5) and not sim.gnss.in_outage(5.0)
    assert [f["xy"] for f in schedule.applied] == [[0.0, 0.0], [0.0, 0.0]]


def test_link_loss_is_a_window_of_the_schedule():
    world, _, _, schedule, _ = rig(LinkLoss(2.0, "t", 3.0))
    run_to(world, schedule, 1.0)
    assert not schedule.link_down("t")
    run_to(world, schedule, 2.0)
    assert schedule.link_down("t") and not schedule.link_down("other")
    run_to(world, schedule, 5.0)
    assert not schedule.link_down("t")


@pytest.mark.parametrize("silent", [False, True])
def test_a_broken_vehicle_stops_and_its_driver_refuses_everything(silent):
    world, sim, driver, schedule, silenced = rig(VehicleFailure(3.0, "t", silent))
    path = make_path([(0, 0), (60, 0)], kind=SegmentKind.SWATH, speed_mps=2.5, sections=1)
    driver.upload(Plan(path))
    driver.start()
    run_to(world, schedule, 2.9)
    assert list(driver.telemetry()) and world.state("t").speed_mps > 0.5
    run_to(world, schedule, 10.0)
    assert world.state("t").speed_mps == pytest.approx(0.0, abs=1e-6) and world.state("t").sections == 0
    assert world.state("t").x < 12.0
    with pytest.raises(DriverError, match="VEHICLE_FAILURE"):
        driver.telemetry()
    for call in (driver.start, driver.pause, driver.abort, lambda: driver.upload(Plan(path))):
        with pytest.raises(CommandRejected, match="VEHICLE_FAILURE"):
            call()
    assert sim.mission_state is MissionState.ACTIVE     # the vehicle itself never heard of it
    assert silenced == (["t"] if silent else [])
