"""The world: clock, pacing, controllers at their own rate, wind, terrain, obstacles, determinism."""
from __future__ import annotations

import math

import numpy as np
import pytest
from agrifleet.core.errors import ConfigError
from agrifleet.core.field import Field
from agrifleet.core.vehicle import AirControl, GroundControl
from agrifleet.sim.vehicles import EXAMPLE_DRONE, EXAMPLE_TRACTOR, MultirotorModel, TractorModel
from agrifleet.sim.world import HeightMap, Wind, World
from shapely.geometry import Polygon


def gusty_world(seed: int) -> World:
    w = World(rng=np.random.default_rng(seed), dt_s=0.05, wind=Wind((3.0, 1.0), gust_sigma_mps=2.0,
                                                                    gust_tau_s=3.0))
    drone = MultirotorModel(EXAMPLE_DRONE)
    drone.arm()
    w.add_vehicle("d1", drone, lambda t, s: AirControl(vz_mps=1.0) if s.z < 5.0 else AirControl(vx_mps=2.0))
    tractor = TractorModel(EXAMPLE_TRACTOR)
    tractor.arm()
    w.add_vehicle("t1", tractor, lambda t, s: GroundControl(steer_rad=0.1 * math.sin(t), speed_mps=2.5))
    return w


def snapshot(w: World) -> list[tuple[float, ...]]:
    return [(s.x, s.y, s.z, s.heading_rad, s.vx, s.vy, s.battery_wh) for s in
            (m.state for m in w.vehicles.values())]


def test_same_seed_same_run_bit_for_bit_and_another_seed_differs():
    a, b, c = gusty_world(7), gusty_world(7), gusty_world(8)
    for w in (a, b, c):
        w.run(60.0)
    assert snapshot(a) == snapshot(b)
    assert snapshot(a) != snapshot(c)
    assert a.t_s == pytest.approx(60.0) and a.steps == 1200


def test_gusts_have_the_configured_mean_and_spread():
    wind = Wind((4.0, -2.0), gust_sigma_mps=1.5, gust_tau_s=2.0)
    w = World(rng=np.random.default_rng(1), dt_s=0.1, wind=wind)
    samples = []
    for _ in range(20000):
        w.step()
        samples.append(w.wind_at(0.0, 0.0, 0.0))
    arr = np.array(samples)
    assert arr[:, 0].mean() == pytest.approx(4.0, abs=0.15)
    assert arr[:, 1].mean() == pytest.approx(-2.0, abs=0.15)
    assert arr[:, 0].std() == pytest.approx(1.5, rel=0.1)
    assert arr[:, 2].std() == pytest.approx(0.45, rel=0.1)
    lag = round(2.0 / 0.1)  # autocorrelation after one correlation time is 1/e
    x = arr[:, 0] - arr[:, 0].mean()
    rho = float(np.dot(x[:-lag], x[lag:]) / np.dot(x, x))
    assert rho == pytest.approx(math.exp(-1.0), abs=0.1)


def test_controllers_run_at_their_own_period_and_see_the_time():
    w = World(rng=np.random.default_rng(0), dt_s=0.02)
    calls: list[float] = []

    def ctrl(t, state):
        calls.append(t)
        return GroundControl(speed_mps=1.0)

    t = TractorModel(EXAMPLE_TRACTOR)
    t.arm()
    w.add_vehicle("t", t, ctrl, control_period_s=0.1)
    w.run(1.0)
    assert calls == pytest.approx([0.1 * k for k in range(10)])
    assert w.state("t").t_s == pytest.approx(1.0)


def test_real_time_factor_paces_against_the_injected_wall_clock():
    wall = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        wall[0] += s

    w = World(rng=np.random.default_rng(0), dt_s=0.1, wall_clock=lambda: wall[0], sleep=sleep)
    w.run(10.0, real_time_factor=4.0)
    assert wall[0] - 100.0 == pytest.approx(2.5)
    assert len(slept) == 100
    wall[0] = 0.0
    w.run(10.0)  # as fast as possible: no sleeping
    assert len(slept) == 100


def test_run_until_stops_early_and_bad_settings_are_refused():
    w = World(rng=np.random.default_rng(0), dt_s=0.1)
    ran = w.run(100.0, until=lambda world: world.t_s >= 3.0)
    assert ran == pytest.approx(3.0)
    with pytest.raises(ConfigError, match="rng"):
        World(rng=0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="dt_s"):
        World(rng=np.random.default_rng(0), dt_s=0.0)
    with pytest.raises(ConfigError, match="no vehicle 'x'"):
        w.state("x")
    w.add_vehicle("a", TractorModel(EXAMPLE_TRACTOR))
    with pytest.raises(ConfigError, match="already"):
        w.add_vehicle("a", TractorModel(EXAMPLE_TRACTOR))


def test_height_map_interpolates_and_its_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    hm = HeightMap(rng.uniform(0, 5, (20, 30)), origin_xy=(-10.0, 5.0), cell_m=2.0)
    assert hm.height_at(-10.0 + 2 * 4, 5.0 + 2 * 7) == pytest.approx(hm.heights_m[7, 4])
    for x, y in rng.uniform([-9, 6], [45, 40], (20, 2)):
        e = 1e-6
        gx = (hm.height_at(x + e, y) - hm.height_at(x - e, y)) / (2 * e)
        gy = (hm.height_at(x, y + e) - hm.height_at(x, y - e)) / (2 * e)
        assert hm.gradient_at(x, y) == pytest.approx((gx, gy), rel=1e-4, abs=1e-6)
    assert hm.height_at(-1000.0, 5.0) == pytest.approx(hm.heights_m[0, 0])  # clamped
    assert hm.gradient_at(-1000.0, -1000.0) == (0.0, 0.0)
    with pytest.raises(ConfigError, match="2-D grid"):
        HeightMap(np.zeros(5))


def test_ground_vehicles_follow_the_terrain_and_drones_land_on_it():
    hm = HeightMap(np.full((3, 3), 12.0), origin_xy=(-100.0, -100.0), cell_m=100.0)
    w = World(rng=np.random.default_rng(0), terrain=hm)
    d = MultirotorModel(EXAMPLE_DRONE)
    d.place(0.0, 0.0, 0.0, w)
    assert d.arm()
    w.add_vehicle("d", d, lambda t, s: AirControl(vz_mps=1.0) if t < 3 else AirControl(vz_mps=-1.0))
    w.run(2.0)
    assert w.state("d").z == pytest.approx(12.0 + 1.3, abs=0.3)
    w.run(10.0)
    assert w.state("d").landed and w.state("d").z == 12.0


def test_driving_into_an_obstacle_is_an_event():
    hole = [(20, -5), (25, -5), (25, 5), (20, 5)]
    fld = Field("f", Polygon([(-10, -50), (100, -50), (100, 50), (-10, 50)], [hole]))
    w = World(rng=np.random.default_rng(0), fields=[fld], dt_s=0.1)
    t = TractorModel(EXAMPLE_TRACTOR)
    t.arm()
    w.add_vehicle("t", t)
    w.set_control("t", GroundControl(speed_mps=3.0))
    w.run(30.0)
    assert [(e.vehicle, e.kind) for e in w.events] == [("t", "collision")]
    assert 7.0 < w.events[0].t_s < 10.0  # reaches x = 20 after about 8 s (with acceleration)
