"""Physics of the simulated vehicles, integrated without a world and compared with closed forms."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from agrifleet.core.errors import ConfigError
from agrifleet.core.vehicle import AirControl, GroundControl, VehicleKind, VehicleSpec
from agrifleet.sim.energy import Payload, RotorPower
from agrifleet.sim.vehicles import (
    EXAMPLE_DRONE,
    EXAMPLE_ROVER,
    EXAMPLE_TRACTOR,
    MultirotorModel,
    MultirotorParams,
    RoverModel,
    SlipParams,
    TractorModel,
    model_for,
)
from agrifleet.sim.world import CALM, Calm, HeightMap

DT = 0.05


def drive(model, control, seconds, env=CALM, dt=DT):
    for _ in range(round(seconds / dt)):
        model.step(dt, control, env)
    return model.state


def circle_fit(xy: np.ndarray) -> tuple[float, float, float]:
    """Least-squares circle (Kasa fit): centre and radius."""
    x, y = xy[:, 0], xy[:, 1]
    a = np.column_stack([x, y, np.ones_like(x)])
    b = x * x + y * y
    cx2, cy2, c = np.linalg.lstsq(a, b, rcond=None)[0]
    cx, cy = cx2 / 2, cy2 / 2
    return cx, cy, math.sqrt(c + cx * cx + cy * cy)


# --- tractor ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dt", [0.01, 0.05, 0.2])
def test_turning_circle_matches_wheelbase_over_tan_max_steer(dt):
    t = TractorModel(EXAMPLE_TRACTOR)
    t.arm()
    full_lock = GroundControl(steer_rad=2.0, speed_mps=2.0)  # beyond the limit: clipped to max_steer
    drive(t, full_lock, 10.0, dt=dt)  # steering and speed settle
    pts = []
    for _ in range(round(15.0 / dt)):
        t.step(dt, full_lock, CALM)
        pts.append((t.state.x, t.state.y))
    _, _, r = circle_fit(np.array(pts))
    expected = EXAMPLE_TRACTOR.wheelbase_m / math.tan(EXAMPLE_TRACTOR.max_steer_rad)
    assert r == pytest.approx(expected, rel=0.01)
    assert t.turning_radius_m == pytest.approx(expected)
    assert t.state.steer_rad == pytest.approx(EXAMPLE_TRACTOR.max_steer_rad)


def test_steering_rate_limit_and_first_order_lag():
    slow = dataclasses.replace(EXAMPLE_TRACTOR, max_steer_rate_rad_s=0.2, steer_time_constant_s=0.0)
    t = TractorModel(slow)
    t.arm()
    drive(t, GroundControl(steer_rad=0.5, speed_mps=1.0), 1.0)
    assert t.state.steer_rad == pytest.approx(0.2, rel=1e-9)  # rate limited: 0.2 rad/s for 1 s

    lag = dataclasses.replace(EXAMPLE_TRACTOR, max_steer_rate_rad_s=100.0, steer_time_constant_s=0.4)
    t = TractorModel(lag)
    t.arm()
    drive(t, GroundControl(steer_rad=0.3, speed_mps=1.0), 0.4, dt=0.001)
    assert t.state.steer_rad == pytest.approx(0.3 * (1 - math.exp(-1.0)), rel=1e-3)  # one time constant


def test_speed_follows_acceleration_and_braking_limits():
    t = TractorModel(EXAMPLE_TRACTOR)
    t.arm()
    drive(t, GroundControl(speed_mps=5.0), 2.0)
    assert t.state.speed_mps == pytest.approx(2.0 * EXAMPLE_TRACTOR.max_accel_mps2)
    drive(t, GroundControl(speed_mps=20.0), 20.0)
    assert t.state.speed_mps == pytest.approx(EXAMPLE_TRACTOR.max_speed_mps)
    drive(t, GroundControl(speed_mps=0.0), 1.0)
    assert t.state.speed_mps == pytest.approx(8.0 - 2 * EXAMPLE_TRACTOR.max_accel_mps2)
    assert abs(t.state.y) < 1e-9


def test_unarmed_tractor_stands_still_and_no_reverse_without_permission():
    t = TractorModel(EXAMPLE_TRACTOR)
    drive(t, GroundControl(steer_rad=0.2, speed_mps=3.0, sections=1), 3.0)
    assert (t.state.x, t.state.y, t.state.speed_mps, t.state.sections) == (0.0, 0.0, 0.0, 0)
    forward_only = dataclasses.replace(EXAMPLE_TRACTOR, reverse_allowed=False)
    t = TractorModel(forward_only)
    t.arm()
    drive(t, GroundControl(speed_mps=-2.0), 3.0)
    assert t.state.speed_mps == 0.0 and t.state.x == 0.0


def test_straight_line_distance_is_exact():
    t = TractorModel(EXAMPLE_TRACTOR)
    t.arm()
    drive(t, GroundControl(speed_mps=2.0), 20.0)
    # 2.5 s of acceleration at 0.8 m/s^2 (2.5 m), then 17.5 s at 2 m/s (35 m)
    assert t.state.x == pytest.approx(37.5, abs=1e-9)


def test_trailer_straightens_as_closed_form_when_towed_from_the_axle():
    # Hitch on the rear axle (h = 0), tractor straight: tan(psi/2) = tan(psi0/2) exp(-v t / l).
    spec = dataclasses.replace(EXAMPLE_TRACTOR, hitch_offset_m=0.0, implement_offset_m=4.0,
                               max_accel_mps2=50.0)
    t = TractorModel(spec)
    t.arm()
    t.state.speed_mps = 2.0
    psi0 = 0.8
    t.state.implement_heading_rad = -psi0
    t.state.implement_x = -4.0 * math.cos(-psi0)
    t.state.implement_y = -4.0 * math.sin(-psi0)
    drive(t, GroundControl(speed_mps=2.0), 3.0)
    psi = t.state.heading_rad - t.state.implement_heading_rad
    expected = 2 * math.atan(math.tan(psi0 / 2) * math.exp(-2.0 * 3.0 / 4.0))
    assert psi == pytest.approx(expected, rel=1e-6)
    # The implement's wheels stay on the drawbar: |hitch - implement| = l.
    assert math.hypot(t.state.x - t.state.implement_x, t.state.y - t.state.implement_y) == pytest.approx(4.0)


def test_trailer_on_a_steady_circle_runs_inside_on_radius_sqrt_r2_plus_h2_minus_l2():
    t = TractorModel(EXAMPLE_TRACTOR)  # hitch 1.2 m behind the axle, implement 3.0 m behind the hitch
    t.arm()
    steer = 0.4
    drive(t, GroundControl(steer_rad=steer, speed_mps=1.5), 60.0)
    pts, imp = [], []
    for _ in range(600):
        t.step(DT, GroundControl(steer_rad=steer, speed_mps=1.5), CALM)
        pts.append((t.state.x, t.state.y))
        imp.append((t.state.implement_x, t.state.implement_y))
    cx, cy, r = circle_fit(np.array(pts))
    r_expected = EXAMPLE_TRACTOR.wheelbase_m / math.tan(steer)
    assert r == pytest.approx(r_expected, rel=1e-3)
    imp_r = np.hypot(np.array(imp)[:, 0] - cx, np.array(imp)[:, 1] - cy)
    h, ell = EXAMPLE_TRACTOR.hitch_offset_m, EXAMPLE_TRACTOR.implement_offset_m
    assert imp_r == pytest.approx(math.sqrt(r_expected ** 2 + h ** 2 - ell ** 2), rel=1e-3)
    assert not t.jackknifed


def test_mounted_implement_is_rigid_behind_the_hitch():
    t = TractorModel(EXAMPLE_TRACTOR, towed=False)
    t.arm()
    drive(t, GroundControl(steer_rad=0.3, speed_mps=2.0), 10.0)
    s = t.state
    back = EXAMPLE_TRACTOR.hitch_offset_m + EXAMPLE_TRACTOR.implement_offset_m
    assert s.implement_heading_rad == pytest.approx(s.heading_rad)
    assert s.implement_x == pytest.approx(s.x - back * math.cos(s.heading_rad))
    assert s.implement_y == pytest.approx(s.y - back * math.sin(s.heading_rad))


def test_side_slope_makes_the_tractor_crab_downhill_and_uphill_slows_it():
    # Ground rising to the north at 20 %: driving east, the slope is across the track (rises to the left).
    grid = np.tile(np.arange(0, 200, 1.0)[:, None] * 0.2, (1, 200))
    env = Calm(terrain=HeightMap(grid, (-50.0, -50.0), 1.0))
    slip = SlipParams(crab_rad_per_grade=0.1, speed_loss_per_grade=0.5)
    t = TractorModel(EXAMPLE_TRACTOR, slip=slip)
    t.arm()
    t.place(0.0, 0.0, 0.0, env)
    t.state.speed_mps = 2.0
    drive(t, GroundControl(speed_mps=2.0), 10.0, env)
    assert t.state.x == pytest.approx(20.0 * math.cos(0.02), rel=1e-6)
    assert t.state.y == pytest.approx(-20.0 * math.sin(0.02), rel=1e-3)  # crab 0.02 rad to the right
    assert t.state.z == pytest.approx(0.2 * (t.state.y + 50.0), rel=1e-9)

    # Uphill (north) at 20 % grade: 10 % of wheel speed is lost.
    t = TractorModel(EXAMPLE_TRACTOR, slip=slip)
    t.arm()
    t.place(0.0, 0.0, math.pi / 2, env)
    t.state.speed_mps = 2.0
    drive(t, GroundControl(speed_mps=2.0), 10.0, env)
    assert t.state.y == pytest.approx(18.0, rel=1e-6)
    assert abs(t.state.x) < 1e-9

    # Flat ground: no slip whatever the parameters.
    t = TractorModel(EXAMPLE_TRACTOR, slip=slip)
    t.arm()
    t.state.speed_mps = 2.0
    drive(t, GroundControl(speed_mps=2.0), 10.0)
    assert (t.state.x, t.state.y) == (pytest.approx(20.0), 0.0)


def test_sprayer_tank_drains_at_rate_times_width_times_speed_and_stops_when_empty():
    payload = Payload.uniform(24.0, 4, rate_per_ha=200.0)
    spec = dataclasses.replace(EXAMPLE_TRACTOR, tank_l=10.0, max_accel_mps2=50.0)
    t = TractorModel(spec, payload=payload)
    t.arm()
    t.state.speed_mps = 2.5
    drive(t, GroundControl(speed_mps=2.5, sections=0b0011), 4.0)  # half the boom
    assert t.state.sections == 0b0011
    assert t.state.tank_l == pytest.approx(10.0 - 200.0 / 1e4 * 12.0 * 2.5 * 4.0)
    drive(t, GroundControl(speed_mps=2.5, sections=0b1111), 60.0)
    assert t.state.tank_l == 0.0 and t.state.sections == 0


def test_rover_is_a_ground_model_of_its_own_kind_and_models_refuse_wrong_input():
    r = RoverModel(EXAMPLE_ROVER)
    assert r.kind is VehicleKind.ROVER
    with pytest.raises(ConfigError, match="GroundControl"):
        r.step(DT, AirControl(), CALM)
    with pytest.raises(ConfigError, match="wheelbase"):
        TractorModel(VehicleSpec(name="t", kind="tractor"))
    with pytest.raises(ConfigError, match="multirotor model cannot fly"):
        MultirotorModel(EXAMPLE_TRACTOR)
    with pytest.raises(ConfigError, match="bad model option"):
        model_for(EXAMPLE_DRONE, nonsense=1)
    assert isinstance(model_for(EXAMPLE_TRACTOR), TractorModel)


# --- multirotor ---------------------------------------------------------------------------------------------

def airborne(spec=EXAMPLE_DRONE, **kw) -> MultirotorModel:
    d = MultirotorModel(spec, **kw)
    assert d.arm()
    drive(d, AirControl(vz_mps=2.0), 2.0)
    drive(d, AirControl(), 15.0)
    return d


def test_hovering_drone_draws_the_momentum_theory_power_of_its_mass():
    power = RotorPower(disc_area_m2=2.0, figure_of_merit=0.7, drive_efficiency=0.9, avionics_w=25.0)
    d = airborne(params=MultirotorParams(power=power))
    assert d.state.vz == pytest.approx(0.0, abs=1e-6) and not d.state.landed
    used0, battery0 = d.energy_used_wh, d.state.battery_wh
    drive(d, AirControl(), 60.0)
    m, g, rho = 45.0, 9.80665, 1.225
    expected_w = (m * g) ** 1.5 / (0.7 * 0.9 * math.sqrt(2 * rho * 2.0)) + 25.0
    assert d.power_w == pytest.approx(expected_w, rel=1e-6)
    assert d.energy_used_wh - used0 == pytest.approx(expected_w * 60.0 / 3600.0, rel=1e-6)
    assert battery0 - d.state.battery_wh == pytest.approx(expected_w * 60.0 / 3600.0, rel=1e-6)


def test_spraying_drains_the_tank_and_the_lighter_drone_draws_less():
    payload = Payload.uniform(6.0, 2, rate_per_ha=20.0)  # 20 l/ha over 6 m at 5 m/s = 0.06 l/s
    d = airborne(payload=payload)
    p_full = d.power_w
    drive(d, AirControl(vx_mps=5.0, sections=0b11), 10.0)
    assert d.state.speed_mps == pytest.approx(5.0, rel=1e-3)
    tank_before = d.state.tank_l
    drive(d, AirControl(vx_mps=5.0, sections=0b11), 100.0)
    assert tank_before - d.state.tank_l == pytest.approx(0.06 * 100.0, rel=1e-3)
    drive(d, AirControl(sections=0), 10.0)
    assert d.mass_kg == pytest.approx(25.0 + d.state.tank_l)
    ratio = d.power_w / p_full
    expected = ((d.mass_kg / 45.0) ** 1.5 * (p_full - 30.0) + 30.0) / p_full
    assert ratio == pytest.approx(expected, rel=1e-3) and ratio < 1.0


def test_take_off_climb_limit_and_landing():
    d = MultirotorModel(EXAMPLE_DRONE)
    drive(d, AirControl(vz_mps=2.0), 2.0)
    assert d.state.landed and d.state.z == 0.0  # not armed: stays on the ground
    assert d.arm()
    drive(d, AirControl(vz_mps=10.0), 10.0)
    assert d.state.vz == pytest.approx(MultirotorParams().max_climb_mps, rel=1e-3)
    assert not d.disarm()  # refused in the air
    drive(d, AirControl(vz_mps=-10.0), 30.0)
    assert d.state.landed and d.state.z == 0.0 and not d.crashed
    assert d.disarm()


def test_wind_within_tilt_limit_is_rejected_and_beyond_it_blows_the_drone_away():
    d = airborne()
    breeze = Calm(wind_mps=(4.0, 0.0, 0.0))
    drive(d, AirControl(), 30.0, breeze)
    assert abs(d.state.vx) < 1e-3  # leans into the wind and holds
    gale = Calm(wind_mps=(30.0, 0.0, 0.0))
    d = airborne()
    drive(d, AirControl(), 30.0, gale)
    # Terminal drift: drag at the maximum tilt balances, c (w - v)^2 = m g tan(tilt)
    p = MultirotorParams()
    v_rel = math.sqrt(45.0 * 9.80665 * math.tan(p.max_tilt_rad) / p.drag_coeff_kg_per_m)
    assert d.state.vx == pytest.approx(30.0 - v_rel, rel=1e-3)


def test_speed_and_yaw_rate_limits():
    d = airborne()
    drive(d, AirControl(vx_mps=30.0, vy_mps=30.0, yaw_rad=math.pi / 2), 0.5)
    assert d.state.heading_rad == pytest.approx(0.5 * MultirotorParams().max_yaw_rate_rad_s)
    drive(d, AirControl(vx_mps=30.0, vy_mps=30.0, yaw_rad=math.pi / 2), 30.0)
    assert d.state.speed_mps == pytest.approx(EXAMPLE_DRONE.max_speed_mps, rel=1e-3)
    assert d.state.heading_rad == pytest.approx(math.pi / 2)


def test_empty_battery_stops_the_motors():
    spec = dataclasses.replace(EXAMPLE_DRONE, battery_wh=20.0)
    d = airborne(spec)
    drive(d, AirControl(vz_mps=1.0), 5.0)
    drive(d, AirControl(), 30.0)
    assert d.state.battery_wh == 0.0 and d.state.landed and d.crashed
    assert not d.arm()
