"""The simulated autopilot as mission-protocol server: upload with re-requests, download, clear, limits,
validation, fence and rally types, set-current; ArduPilot's home at seq 0 against PX4's plain list."""
from __future__ import annotations

import math

import pytest

from agrifleet.sim import _mav_mission
from agrifleet.sim._mav_proto import MavCmd, MavMissionResult, MavResult, MissionState

from ._gcs import LAT0, LON0, Gcs, do_item, home_item, latlon_at, make_vehicle, waypoint


@pytest.fixture(params=["px4", "ardupilot"])
def rig(request):
    v = make_vehicle("copter", request.param)
    gcs = Gcs(v.link.local_port, pump=v.tick)
    yield v, gcs, request.param
    gcs.close()
    v.ap.close()


def _mission(autopilot: str, n: int = 4) -> list[tuple]:
    items = [home_item()] if autopilot == "ardupilot" else []
    return items + [waypoint(10.0 * k, 5.0, z=4.0 + k) for k in range(n)]


def test_upload_download_round_trip(rig):
    v, gcs, autopilot = rig
    items = _mission(autopilot) + [do_item(MavCmd.DO_CHANGE_SPEED, 1, 3.5)]
    ack = gcs.upload(items)
    assert ack.type == MavMissionResult.ACCEPTED and ack.mission_type == 0
    assert (ack.target_system, ack.target_component) == (255, 230)
    requests = gcs.seen("MISSION_REQUEST_INT")
    assert [m.seq for m in requests] == list(range(len(items)))
    assert all((m.target_system, m.target_component) == (255, 230) for m in requests)
    down = gcs.download()
    assert len(down) == len(items)
    first = 1 if autopilot == "ardupilot" else 0
    for sent, got in zip(items[first:], down[first:], strict=True):
        assert (got.frame, got.command, got.z) == (sent[0], sent[1], pytest.approx(sent[8]))
        assert got.x == round(sent[6] * 1e7) and got.y == round(sent[7] * 1e7)
    if autopilot == "ardupilot":       # seq 0 is home, whatever was uploaded there
        assert (down[0].x, down[0].y) == (round(LAT0 * 1e7), round(LON0 * 1e7))
        assert down[0].z == pytest.approx(10.0)
    current = gcs.recv("MISSION_CURRENT", cond=lambda m: m.mission_state == MissionState.NOT_STARTED)
    assert current.total == len(items) - first and current.seq == first


def test_clear_all(rig):
    v, gcs, autopilot = rig
    gcs.upload(_mission(autopilot))
    gcs.mav.mission_clear_all_send(1, 1, 0)
    assert gcs.recv("MISSION_ACK").type == MavMissionResult.ACCEPTED
    down = gcs.download()
    assert len(down) == (1 if autopilot == "ardupilot" else 0)      # ArduPilot always keeps home
    assert gcs.recv("MISSION_CURRENT", cond=lambda m: m.mission_state == MissionState.NO_MISSION)
    gcs.upload(_mission(autopilot))
    assert gcs.upload([]).type == MavMissionResult.ACCEPTED          # a count of 0 clears too
    assert v.ap.executor.total == 0


def test_missing_request_is_asked_again(rig):
    v, gcs, autopilot = rig
    ack = gcs.upload(_mission(autopilot), skip_first_request=True)
    assert ack is not None and ack.type == MavMissionResult.ACCEPTED
    assert [m.seq for m in gcs.seen("MISSION_REQUEST_INT")][:2] == [0, 0]


def test_stalled_upload_is_cancelled_and_old_mission_kept(rig, monkeypatch):
    v, gcs, autopilot = rig
    gcs.upload(_mission(autopilot, 2))
    monkeypatch.setattr(_mav_mission, "REQUEST_RETRY_S", 0.2)
    gcs.mav.mission_count_send(1, 1, 5, 0)
    ack = gcs.recv("MISSION_ACK", timeout=5.0)
    assert ack.type == MavMissionResult.OPERATION_CANCELLED
    assert len(gcs.seen("MISSION_REQUEST_INT", lambda m: m.seq == 0)) >= 1 + _mav_mission.REQUEST_RETRIES
    assert v.ap.executor.total == 2


def test_limits_and_validation(rig):
    v, gcs, autopilot = rig
    gcs.upload(_mission(autopilot, 3))
    gcs.mav.mission_count_send(1, 1, v.ap.personality.max_mission_items + 1, 0)
    assert gcs.recv("MISSION_ACK").type == MavMissionResult.NO_SPACE
    bad_frame = _mission(autopilot, 2) + [(1, 16, 0, 0, 0, 0, 0.0, 0.0, 5.0)]         # LOCAL_NED waypoint
    assert gcs.upload(bad_frame).type == MavMissionResult.UNSUPPORTED_FRAME
    bad_lat = _mission(autopilot, 1) + [(6, 16, 0, 0, 0, 0, 95.0, 5.0, 5.0)]
    assert gcs.upload(bad_lat).type == MavMissionResult.INVALID_PARAM5_X
    assert v.ap.executor.total == 3                                                # the old one stands
    gcs.mav.mission_count_send(1, 1, 3, 7)                                         # no such mission type
    assert gcs.recv("MISSION_ACK").type == MavMissionResult.UNSUPPORTED


def test_second_uploader_is_refused_while_one_uploads(rig):
    v, gcs, autopilot = rig
    other = Gcs(v.link.local_port, sysid=245, compid=190, pump=v.tick)
    gcs.mav.mission_count_send(1, 1, 3, 0)
    assert gcs.recv("MISSION_REQUEST_INT") is not None
    other.mav.mission_count_send(1, 1, 2, 0)
    ack = other.recv("MISSION_ACK", cond=lambda m: m.target_system == 245)
    assert ack.type == MavMissionResult.DENIED
    other.close()


def test_legacy_float_items(rig):
    v, gcs, autopilot = rig
    items = _mission(autopilot, 2)
    gcs.mav.mission_count_send(1, 1, len(items), 0)
    for _ in items:
        req = gcs.recv("MISSION_REQUEST_INT")
        frame, cmd, p1, p2, p3, p4, lat, lon, z = items[req.seq]
        legacy_frame = 3 if frame == 6 else frame
        gcs.mav.mission_item_send(1, 1, req.seq, legacy_frame, cmd, 0, 1, p1, p2, p3, p4, lat, lon, z)
    assert gcs.recv("MISSION_ACK").type == MavMissionResult.ACCEPTED
    gcs.mav.mission_request_send(1, 1, len(items) - 1)
    item = gcs.recv("MISSION_ITEM")
    # float32 degrees: about 0.4 m of resolution, the reason MISSION_ITEM_INT exists
    assert item.x == pytest.approx(items[-1][6], abs=1e-5) and item.y == pytest.approx(items[-1][7], abs=1e-5)


def test_set_current(rig):
    v, gcs, autopilot = rig
    gcs.upload(_mission(autopilot, 4))
    first = 1 if autopilot == "ardupilot" else 0
    assert gcs.command(MavCmd.DO_SET_MISSION_CURRENT, first + 2).result == MavResult.ACCEPTED
    assert gcs.recv("MISSION_CURRENT", cond=lambda m: m.seq == first + 2) is not None
    gcs.mav.mission_set_current_send(1, 1, first + 1)
    assert gcs.recv("MISSION_CURRENT", cond=lambda m: m.seq == first + 1) is not None
    assert gcs.command(MavCmd.DO_SET_MISSION_CURRENT, 99).result == MavResult.DENIED


def test_fence_and_rally_types(rig):
    v, gcs, autopilot = rig
    square = [(-50, -50), (50, -50), (50, 50), (-50, 50)]
    fence = [(6, MavCmd.NAV_FENCE_POLYGON_VERTEX_INCLUSION, 4, 0, 0, 0, *latlon_at(x, y), 0.0)
             for x, y in square]
    assert gcs.upload(fence, mission_type=1).type == MavMissionResult.ACCEPTED
    assert v.ap.failsafes.fence.inclusion[0].area == pytest.approx(100 * 100, rel=1e-3)
    assert len(gcs.download(mission_type=1)) == 4
    broken = fence[:3]                                        # says 4 vertices, has 3
    assert gcs.upload(broken, mission_type=1).type == MavMissionResult.INVALID_PARAM1
    rally = [(6, MavCmd.NAV_RALLY_POINT, 0, 0, 0, 0, *latlon_at(30, 40), 0.0)]
    assert gcs.upload(rally, mission_type=2).type == MavMissionResult.ACCEPTED
    x, y = v.ap.rally_xy[0]
    assert x - v.ap.home_xyz[0] == pytest.approx(30, abs=0.01)
    assert y - v.ap.home_xyz[1] == pytest.approx(40, abs=0.01)
    assert gcs.upload([waypoint(1, 1)], mission_type=2).type == MavMissionResult.UNSUPPORTED
    assert math.isfinite(v.ap.t_s)
