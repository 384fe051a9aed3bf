"""MAVSDK's QGroundControl plan importer (MissionRaw.import_qgroundcontrol_mission) reads our .plan files:
mission items, geofence vertices and rally points, item for item.

MAVSDK needs a connected system to create the plugin, so a pymavlink process sends ArduPilot rover
heartbeats; with an ArduPilot autopilot MAVSDK puts ``plannedHomePosition`` in as item 0, as QGC does.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agrifleet.core.implement import build_implement
from agrifleet.planners.export import ExportOptions, export_plans
from agrifleet.planners.export.mission import build_missions

from .plans import boustrophedon

pytestmark = pytest.mark.peers
mavsdk = pytest.importorskip("mavsdk")

HEARTBEATS = """
import os, sys, time
os.environ["MAVLINK20"] = "1"
from pymavlink import mavutil
m = mavutil.mavlink_connection(f"udpout:127.0.0.1:{sys.argv[1]}", source_system=1, source_component=1)
end = time.monotonic() + 60
while time.monotonic() < end:
    m.mav.heartbeat_send(10, 3, 1, 0, 3)
    time.sleep(0.2)
"""


@pytest.fixture(scope="module")
def mission_raw():
    from mavsdk import ComponentType, Configuration, Mavsdk
    from mavsdk.plugins.mission_raw import MissionRaw

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    vehicle = subprocess.Popen([sys.executable, "-c", HEARTBEATS, str(port)], env={**os.environ, "MAVLINK20": "1"})
    try:
        gcs = Mavsdk(Configuration.create_with_component_type(ComponentType.GROUND_STATION))
        gcs.add_any_connection(f"udpin://127.0.0.1:{port}")
        system = gcs.first_autopilot(20.0)
        assert system is not None, "MAVSDK saw no autopilot"
        yield MissionRaw(system)
    finally:
        vehicle.kill()
        vehicle.wait(timeout=10)


def test_mavsdk_imports_mission_fence_and_rally(mission_raw, tmp_path: Path) -> None:
    plan = boustrophedon()
    out = tmp_path / "field.plan"
    export_plans([plan], "qgc", out)
    data = mission_raw.import_qgroundcontrol_mission(str(out))
    (mission,), _ = build_missions(plan, build_implement(plan.implement), ExportOptions())
    want = mission.uploaded  # home first, as MAVSDK inserts it for ArduPilot
    assert len(data.mission_items) == len(want)
    for got, it in zip(data.mission_items[1:], want[1:]):
        assert (got.command, got.frame, got.autocontinue) == (int(it.command), int(it.frame), 1)
        assert (got.param1, got.param2, got.param3, got.param4) == pytest.approx(it.params, abs=1e-5)
        if it.frame != 2:  # MAVSDK scales positions by 1e7 except for MAV_FRAME_MISSION
            assert (got.x, got.y) == (round(it.lat_deg * 1e7), round(it.lon_deg * 1e7))
        assert got.z == pytest.approx(it.alt_m, abs=1e-3)
    home = data.mission_items[0]
    assert (home.x, home.y) == (round(mission.home[0] * 1e7), round(mission.home[1] * 1e7))
    inclusion = [f for f in data.geofence_items if f.command == 5001]
    exclusion = [f for f in data.geofence_items if f.command == 5002]
    assert len(exclusion) == 4 and all(f.param1 == 4 for f in exclusion)  # the obstacle's four corners
    corners = plan.frame.to_local(np.array([[f.y / 1e7, f.x / 1e7] for f in exclusion]))
    assert sorted(map(tuple, np.round(corners, 2))) == [(40.0, 10.0), (40.0, 15.0), (50.0, 10.0), (50.0, 15.0)]
    assert len(inclusion) >= 4
    (rally,) = data.rally_items
    assert (rally.command, rally.x, rally.y) == (5100, round(52.0 * 1e7), round(5.0 * 1e7))
