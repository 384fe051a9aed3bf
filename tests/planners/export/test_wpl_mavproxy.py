"""MAVProxy's ``wp load`` reads an exported WPL file and uploads it, item for item, to a vehicle.

The vehicle is a minimal pymavlink mission server in its own process (MAVLink 2, ArduPilot rover
heartbeat, answers MISSION_COUNT with MISSION_REQUEST_INT addressed to MAVProxy's 255/230); MAVProxy runs
headless with its commands on stdin, as MAVLINK_NOTES.md describes.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agrifleet.core.implement import build_implement
from agrifleet.planners.export import ExportOptions, export_plans
from agrifleet.planners.export.mission import build_missions

from .plans import boustrophedon

pytestmark = pytest.mark.peers

VEHICLE = r"""
import json, os, sys, time
os.environ["MAVLINK20"] = "1"
from pymavlink import mavutil
port, out = int(sys.argv[1]), sys.argv[2]
m = mavutil.mavlink_connection(f"udpout:127.0.0.1:{port}", source_system=1, source_component=1)
items, count, peer, last_hb = {}, None, None, 0.0
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    if time.monotonic() - last_hb > 0.5:
        m.mav.heartbeat_send(10, 3, 1, 0, 3)  # GROUND_ROVER, ARDUPILOTMEGA, custom mode, STANDBY
        last_hb = time.monotonic()
    msg = m.recv_match(blocking=True, timeout=0.1)
    if msg is None:
        continue
    kind = msg.get_type()
    if kind == "MISSION_REQUEST_LIST":
        m.mav.mission_count_send(msg.get_srcSystem(), msg.get_srcComponent(), 0)
    elif kind == "MISSION_COUNT" and msg.mission_type == 0:
        count, peer, items = msg.count, (msg.get_srcSystem(), msg.get_srcComponent()), {}
        m.mav.mission_request_int_send(*peer, 0, 0)
    elif kind in ("MISSION_ITEM_INT", "MISSION_ITEM") and count is not None:
        scale = 1e7 if kind == "MISSION_ITEM_INT" else 1.0
        items[msg.seq] = [msg.seq, msg.frame, msg.command, msg.current, msg.autocontinue, msg.param1,
                          msg.param2, msg.param3, msg.param4, msg.x / scale, msg.y / scale, msg.z]
        if len(items) < count:
            m.mav.mission_request_int_send(*peer, len(items), 0)
        else:
            m.mav.mission_ack_send(*peer, 0, 0)
            with open(out, "w") as f:
                json.dump([items[k] for k in sorted(items)], f)
            break
"""


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("mavproxy.py", path=str(Path(sys.executable).parent)) is None,
                    reason="MAVProxy is not installed")
def test_mavproxy_wp_load_uploads_the_exported_mission(tmp_path: Path) -> None:
    plan = boustrophedon(n_swaths=3)
    wpl = tmp_path / "field.waypoints"
    export_plans([plan], "wpl", wpl)
    (mission,), _ = build_missions(plan, build_implement(plan.implement), ExportOptions())
    port = _free_udp_port()
    received = tmp_path / "received.json"
    env = {**os.environ, "MAVLINK20": "1"}
    proxy = subprocess.Popen(
        [str(Path(sys.executable).parent / "mavproxy.py"), f"--master=udpin:127.0.0.1:{port}", "--no-state",
         "--default-modules=wp", "--source-system=255", "--source-component=230"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path, env=env)
    vehicle = subprocess.Popen([sys.executable, "-c", VEHICLE, str(port), str(received)], env=env)
    try:
        deadline = time.monotonic() + 60
        log = []
        while time.monotonic() < deadline:  # wait until MAVProxy has seen the vehicle
            line = proxy.stdout.readline()
            log.append(line)
            if "Detected vehicle" in line or "online system" in line:
                break
        else:
            pytest.fail("MAVProxy never detected the vehicle:\n" + "".join(log[-20:]))
        proxy.stdin.write(f"wp load {wpl}\n")
        proxy.stdin.flush()
        vehicle.wait(timeout=60)
    finally:
        for proc in (vehicle, proxy):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    got = json.loads(received.read_text())
    want = mission.uploaded
    assert len(got) == len(want)
    for row, it in zip(got, want):
        seq, frame, command, current, auto, p1, p2, p3, p4, lat, lon, alt = row
        assert (frame, command, auto) == (int(it.frame), int(it.command), 1)
        assert (p1, p2, p3, p4) == pytest.approx(it.params, abs=1e-6)
        assert (lat, lon) == pytest.approx((it.lat_deg, it.lon_deg), abs=1.5e-7)  # MISSION_ITEM_INT: 1e-7 deg
        assert alt == pytest.approx(it.alt_m, abs=1e-3)
