"""Sensor error statistics, outages and re-convergence, quantisation, determinism."""
from __future__ import annotations

import math

import numpy as np
import pytest
from agrifleet.core.errors import ConfigError
from agrifleet.core.geo import LocalFrame
from agrifleet.core.vehicle import VehicleState
from agrifleet.drivers.base import GnssQuality
from agrifleet.sim.sensors import GNSS_MODELS, BatterySensor, Gnss, GnssErrorModel, HeadingSensor, TankSensor
from agrifleet.sim.vehicles import EXAMPLE_DRONE


def errors(gnss: Gnss, seconds: float, rate_hz: float = 5.0) -> tuple[np.ndarray, list[GnssQuality]]:
    state = VehicleState(x=10.0, y=-20.0)
    out, qs = [], []
    for k in range(round(seconds * rate_hz)):
        state.t_s = k / rate_hz
        fix = gnss.read(state)
        out.append((fix.x - state.x, fix.y - state.y))
        qs.append(fix.quality)
    return np.array(out), qs


@pytest.mark.parametrize("quality, rms, tol", [(GnssQuality.RTK_FIXED, 0.02, 0.15),
                                                (GnssQuality.RTK_FLOAT, 0.30, 0.25),
                                                (GnssQuality.SINGLE, 1.5, 0.3)])
def test_horizontal_rms_matches_the_quality(quality, rms, tol):
    assert GNSS_MODELS[quality].horizontal_rms_m == pytest.approx(rms, rel=0.01)
    # Average many independent receivers so the slow error terms are sampled fairly.
    sq = []
    for seed in range(40):
        err, qs = errors(Gnss(np.random.default_rng(seed), quality), 300.0, rate_hz=1.0)
        assert set(qs) == {quality}
        sq.append(np.mean(np.sum(err ** 2, axis=1)))
    assert math.sqrt(np.mean(sq)) == pytest.approx(rms, rel=tol)


def test_single_point_error_wanders_slowly_and_rtk_fixed_does_not():
    walk_only = {GnssQuality.SINGLE: GnssErrorModel(GnssQuality.SINGLE, 0.0, 1.0, 300.0)}
    err, _ = errors(Gnss(np.random.default_rng(1), GnssQuality.SINGLE, models=walk_only), 3600.0, rate_hz=1.0)
    x = err[:, 0] - err[:, 0].mean()
    rho30 = float(np.dot(x[:-30], x[30:]) / np.dot(x, x))
    assert rho30 > 0.7  # 30 s apart, still alike: a slow random walk (white noise would give 0)
    assert np.std(np.diff(err[:, 0])) == pytest.approx(math.sqrt(1 - math.exp(-2 / 300)), rel=0.1)
    err, _ = errors(Gnss(np.random.default_rng(1), GnssQuality.RTK_FIXED), 60.0, rate_hz=10.0)
    assert np.abs(err).max() < 0.1


def test_scheduled_outage_then_rtk_reconverges_through_float():
    g = Gnss(np.random.default_rng(0), GnssQuality.RTK_FIXED, outages=((10.0, 15.0),), reconverge_s=20.0)
    _, qs = errors(g, 60.0, rate_hz=1.0)
    assert qs[:10] == [GnssQuality.RTK_FIXED] * 10
    assert qs[10:15] == [GnssQuality.NONE] * 5
    assert qs[15:35] == [GnssQuality.RTK_FLOAT] * 20
    assert qs[35:] == [GnssQuality.RTK_FIXED] * 25
    state = VehicleState(t_s=12.0)
    fix = g.read(state)
    assert not fix.valid and math.isnan(fix.x)
    assert math.isnan(HeadingSensor(np.random.default_rng(0), gnss=g).read(state))


def test_random_outages_have_the_configured_rate_and_length():
    g = Gnss(np.random.default_rng(5), GnssQuality.SINGLE, outage_rate_per_h=60.0, outage_mean_s=5.0)
    _, qs = errors(g, 4 * 3600.0, rate_hz=1.0)
    none = np.array([q is GnssQuality.NONE for q in qs])
    starts = np.count_nonzero(none[1:] & ~none[:-1])
    assert starts == pytest.approx(240 * (1 - 5 / 60), rel=0.2)  # 60 per hour, less time spent in outage
    assert none.sum() / starts == pytest.approx(5.0, rel=0.25)


def test_same_seed_same_fixes_and_wgs84_when_the_frame_is_known():
    a, _ = errors(Gnss(np.random.default_rng(3), GnssQuality.RTK_FLOAT), 20.0)
    b, _ = errors(Gnss(np.random.default_rng(3), GnssQuality.RTK_FLOAT), 20.0)
    assert np.array_equal(a, b)
    frame = LocalFrame(48.0, 11.0)
    fix = Gnss(np.random.default_rng(0), frame=frame).read(VehicleState(x=100.0, y=50.0))
    back = frame.to_local(np.array([[fix.lon_deg, fix.lat_deg]]))[0]
    assert back == pytest.approx([fix.x, fix.y], abs=1e-6)
    assert fix.x == pytest.approx(100.0, abs=0.1)
    with pytest.raises(ConfigError, match="cannot be simulated"):
        Gnss(np.random.default_rng(0), GnssQuality.DGPS)
    with pytest.raises(ConfigError, match="end after"):
        Gnss(np.random.default_rng(0), outages=((5.0, 5.0),))


def test_heading_battery_and_tank_sensors():
    rng = np.random.default_rng(0)
    h = HeadingSensor(rng, sigma_rad=0.01, bias_rad=0.02)
    reads = np.array([h.read(VehicleState(heading_rad=math.pi - 0.001)) for _ in range(4000)])
    wrapped = np.remainder(reads - (math.pi + 0.019) + math.pi, 2 * math.pi) - math.pi
    assert np.mean(wrapped) == pytest.approx(0.0, abs=1e-3)
    assert np.std(wrapped) == pytest.approx(0.01, rel=0.1)
    assert np.abs(reads).max() <= math.pi
    b = BatterySensor(rng, EXAMPLE_DRONE, sigma_pct=0.0)
    assert b.read(VehicleState(battery_wh=EXAMPLE_DRONE.battery_wh * 0.4234)) == 42.0
    tank = TankSensor(rng, EXAMPLE_DRONE, sigma_l=0.0, step_l=0.5)
    assert tank.read(VehicleState(tank_l=7.3)) == 7.5
    assert tank.read(VehicleState(tank_l=25.0)) == EXAMPLE_DRONE.tank_l
