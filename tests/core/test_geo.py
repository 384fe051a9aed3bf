"""LocalFrame round trips and the Chinese web-map datums against published point pairs."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from agrifleet.core.geo import (LocalFrame, bd09_to_gcj02, bd09_to_wgs84, from_wgs84, gcj02_to_bd09,
                                gcj02_to_wgs84, to_wgs84, wgs84_to_bd09, wgs84_to_gcj02)

# (wgs lon, wgs lat, gcj lon, gcj lat): eviltransform's published test points (Shanghai, Shenzhen, Beijing)
GCJ_PAIRS = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
]


def test_local_frame_round_trip_is_submillimetre_over_5km():
    frame = LocalFrame(lat0_deg=44.72, lon0_deg=11.31)
    rng = np.random.default_rng(1)
    xy = rng.uniform(-2500.0, 2500.0, size=(20_000, 2))
    back = frame.to_local(frame.to_wgs84(xy))
    assert np.max(np.hypot(*(back - xy).T)) < 1e-3


def test_local_frame_measures_ground_distance():
    frame = LocalFrame(lat0_deg=0.0, lon0_deg=0.0)
    # one arc-minute of latitude at the equator is 1842.9 m on the WGS84 ellipsoid
    xy = frame.to_local(np.array([[0.0, 0.0], [0.0, 1.0 / 60.0]]))
    assert np.hypot(*(xy[1] - xy[0])) == pytest.approx(1842.9, abs=0.1)


def test_local_frame_around_centres_on_points_and_pickles():
    pts = np.array([[11.0, 44.0], [11.2, 44.2]])
    frame = LocalFrame.around(pts)
    assert (frame.lon0_deg, frame.lat0_deg) == pytest.approx((11.1, 44.1))
    again = pickle.loads(pickle.dumps(frame))
    assert again == frame
    assert np.allclose(again.to_local(pts), frame.to_local(pts))


@pytest.mark.parametrize("lat", [float("nan"), 90.0, -91.0])
def test_local_frame_rejects_bad_origin(lat):
    with pytest.raises(ValueError):
        LocalFrame(lat0_deg=lat, lon0_deg=10.0)


@pytest.mark.parametrize("wlon,wlat,glon,glat", GCJ_PAIRS)
def test_gcj02_matches_published_pairs(wlon, wlat, glon, glat):
    assert np.allclose(wgs84_to_gcj02(np.array([[wlon, wlat]])), [[glon, glat]], atol=1e-9)
    assert np.allclose(gcj02_to_wgs84(np.array([[glon, glat]])), [[wlon, wlat]], atol=1e-9)


def test_bd09_matches_published_pairs():
    # coordtransform's published examples around Tiananmen
    p = np.array([[116.404, 39.915]])
    assert np.allclose(gcj02_to_bd09(p), [[116.41036949371029, 39.92133699351021]], atol=1e-10)
    # the published inverse is approximate (~2e-6 degrees); ours is refined on the exact forward formula
    assert np.allclose(bd09_to_gcj02(p, refine=0), [[116.39762729119315, 39.90865673957631]], atol=1e-10)
    assert np.allclose(bd09_to_gcj02(p), [[116.39762729119315, 39.90865673957631]], atol=3e-6)
    assert np.abs(gcj02_to_bd09(bd09_to_gcj02(p)) - p).max() < 1e-12


def test_datums_round_trip_and_leave_points_outside_china_alone():
    rng = np.random.default_rng(2)
    china = np.column_stack([rng.uniform(75, 134, 500), rng.uniform(18, 53, 500)])
    assert np.abs(gcj02_to_wgs84(wgs84_to_gcj02(china)) - china).max() < 1e-9
    assert np.abs(bd09_to_wgs84(wgs84_to_bd09(china)) - china).max() < 1e-9
    europe = np.array([[11.3, 44.7], [2.35, 48.85]])
    assert np.array_equal(wgs84_to_gcj02(europe), europe)


def test_to_and_from_wgs84_dispatch_by_name():
    p = np.array([[121.5, 31.2]])
    assert np.allclose(to_wgs84(from_wgs84(p, "gcj02"), "gcj02"), p, atol=1e-9)
    assert np.allclose(to_wgs84(from_wgs84(p, "bd09"), "bd09"), p, atol=1e-8)
    with pytest.raises(ValueError, match="not a geographic datum"):
        to_wgs84(p, "local")
