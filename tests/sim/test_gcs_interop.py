"""Acceptance: real ground-station software flies ``agrifleet sim vehicle``.

The vehicle runs as a separate process, exactly as a user starts it, listening on an ephemeral UDP port.
MAVSDK 4 (the native binding, in-process) and MAVProxy (headless, commands on its stdin) connect, see
health and home, upload a mission, arm, start it, and follow its progress to the end; the track the
vehicle *reports* (GLOBAL_POSITION_INT, as the ground station received it) must pass every waypoint. Both
autopilot personalities are flown. Signing: MAVProxy's unsigned ``arm throttle`` is ignored by a vehicle
with a key, and accepted once MAVProxy has the key.
"""
from __future__ import annotations

import hashlib
import math
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from agrifleet.core.geo import LocalFrame

pytestmark = [pytest.mark.peers, pytest.mark.slow]

LAT0, LON0, ALT0 = 52.0, 5.0, 10.0
FRAME = LocalFrame(LAT0, LON0)
AGRIFLEET = [sys.executable, "-m", "agrifleet.core.cli"]


def _latlon(x: float, y: float) -> tuple[float, float]:
    lon, lat = FRAME.to_wgs84(np.array([x, y]))
    return float(lat), float(lon)


def _passes(track: list[tuple[float, float]], lat: float, lon: float) -> float:
    """Closest approach (m) of a reported lat/lon track to a point."""
    xy = FRAME.to_local(np.array([[lo, la] for la, lo in track]))
    p = FRAME.to_local(np.array([lon, lat]))
    return float(np.min(np.hypot(xy[:, 0] - p[0], xy[:, 1] - p[1])))


@pytest.fixture
def sim_vehicle(request) -> Iterator[callable]:
    procs: list[subprocess.Popen] = []

    def start(kind: str, autopilot: str, speed: float, *extra: str) -> int:
        args = ["sim", "vehicle", "--kind", kind, "--autopilot", autopilot, "--home", f"{LAT0},{LON0},{ALT0}",
                "--mavlink", "udpin:127.0.0.1:0", "--speed-factor", str(speed), *extra]
        proc = subprocess.Popen(AGRIFLEET + args,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        line = proc.stdout.readline()
        match = re.search(r"port (\d+)", line)
        assert match, f"no port in {line!r} ({proc.stderr.read() if proc.poll() is not None else ''})"
        return int(match.group(1))

    yield start
    for proc in procs:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert "stopped after" in out       # SIGTERM is a clean stop, with the run's figures


# --- MAVSDK ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("autopilot", ["px4", "ardupilot"])
def test_mavsdk_flies_a_mission(sim_vehicle, autopilot):
    mavsdk = pytest.importorskip("mavsdk")
    assert mavsdk.__version__.startswith("4."), "the tests use MAVSDK's v4 native API"
    from mavsdk import ComponentType, Configuration, Mavsdk
    from mavsdk.plugins.action import Action
    from mavsdk.plugins.mission import Mission, MissionItem, MissionPlan
    from mavsdk.plugins.mission_raw import MissionItem as RawItem
    from mavsdk.plugins.mission_raw import MissionRaw
    from mavsdk.plugins.telemetry import Telemetry

    port = sim_vehicle("copter", autopilot, 10)
    sdk = Mavsdk(Configuration.create_with_component_type(ComponentType.GROUND_STATION))
    sdk.add_any_connection(f"udpout://127.0.0.1:{port}")
    system = sdk.first_autopilot(10.0)
    assert system is not None
    telemetry = Telemetry(system)
    deadline = time.monotonic() + 10
    while not (telemetry.health_all_ok() and telemetry.health().is_home_position_ok):
        assert time.monotonic() < deadline, telemetry.health()
        time.sleep(0.05)
    home = telemetry.home()
    assert home.latitude_deg == pytest.approx(LAT0, abs=1e-6)
    assert home.longitude_deg == pytest.approx(LON0, abs=1e-6)
    assert home.absolute_altitude_m == pytest.approx(ALT0, abs=0.1)

    track: list[tuple[float, float]] = []
    progress: list[tuple[int, int]] = []
    telemetry.subscribe_position(lambda p, _: track.append((p.latitude_deg, p.longitude_deg)))
    points = [_latlon(25, 0), _latlon(25, 25), _latlon(0, 25)]
    if autopilot == "px4":          # the Mission plugin is PX4-shaped
        mission = Mission(system)
        mission.subscribe_mission_progress(lambda p, _: progress.append((p.current, p.total)))
        mission.upload_mission(MissionPlan([MissionItem(latitude_deg=la, longitude_deg=lo,
                                                        relative_altitude_m=5.0, speed_m_s=6.0,
                                                        is_fly_through=False)
                                            for la, lo in points]))
        finished = mission.is_mission_finished
        start = mission.start_mission
        total = len(points)
    else:                           # ArduPilot: MissionRaw with home at seq 0 and a take-off
        raw = MissionRaw(system)
        raw.subscribe_mission_progress(lambda p, _: progress.append((p.current, p.total)))
        items = [RawItem(0, 0, 16, 1, 1, 0, 0, 0, 0, int(LAT0 * 1e7), int(LON0 * 1e7), 0, 0),
                 RawItem(1, 3, 22, 0, 1, 0, 0, 0, 0, 0, 0, 5.0, 0)]
        items += [RawItem(k + 2, 6, 16, 0, 1, 0.5, 1.0, 0, 0, round(la * 1e7), round(lo * 1e7), 5.0, 0)
                  for k, (la, lo) in enumerate(points)]
        raw.upload_mission(items)
        finished = raw.is_mission_finished
        start = raw.start_mission
        total = len(items)          # MissionRaw counts every uploaded item
    Action(system).arm()
    deadline = time.monotonic() + 5
    while not telemetry.armed():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    start()
    deadline = time.monotonic() + 60
    while not finished():
        assert time.monotonic() < deadline, progress[-3:]
        time.sleep(0.05)
    time.sleep(0.3)
    assert progress[-1] == (total, total)
    assert [c for c, _ in progress] == sorted(c for c, _ in progress)       # progress only moves on
    for lat, lon in points:
        assert _passes(track, lat, lon) < 1.5, (lat, lon)
    del sdk


# --- MAVProxy ------------------------------------------------------------------------------------------
class MavProxy:
    """MAVProxy without a terminal: commands on stdin (kept open), output read by a thread."""

    def __init__(self, master: str, out: str | None, cwd: Path) -> None:
        exe = shutil.which("mavproxy.py", path=os.path.dirname(sys.executable)) or shutil.which("mavproxy.py")
        if exe is None:
            pytest.skip("MAVProxy is not installed")
        args = [sys.executable, exe, f"--master={master}", "--no-state", "--nowait"]
        if out:
            args.append(f"--out={out}")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, cwd=cwd, bufsize=1)
        self.lines: list[str] = []
        self._q: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._q.put(line.rstrip())

    def send(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def expect(self, pattern: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._q.get(timeout=0.1)
            except queue.Empty:
                continue
            self.lines.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"MAVProxy never printed /{pattern}/; last lines: {self.lines[-8:]}")

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _listener():
    os.environ["MAVLINK20"] = "1"
    from pymavlink import mavutil
    conn = mavutil.mavlink_connection("udpin:127.0.0.1:0")
    return conn, conn.port.getsockname()[1]


@pytest.mark.parametrize("kind,autopilot", [("copter", "ardupilot"), ("rover", "px4")])
def test_mavproxy_flies_a_mission(sim_vehicle, tmp_path, kind, autopilot):
    port = sim_vehicle(kind, autopilot, 10)
    listener, out_port = _listener()           # MAVProxy forwards the vehicle's stream here
    points = [_latlon(20, 0), _latlon(20, 15)]
    rows = ["QGC WPL 110", f"0\t1\t0\t16\t0\t0\t0\t0\t{LAT0}\t{LON0}\t{ALT0}\t1"]
    if kind == "copter":
        rows.append("1\t0\t3\t22\t0\t0\t0\t0\t0\t0\t5\t1")
    rows += [f"{len(rows) - 1 + k}\t0\t3\t16\t0\t0\t0\t0\t{la:.8f}\t{lo:.8f}\t5\t1"
             for k, (la, lo) in enumerate(points)]
    (tmp_path / "mission.txt").write_text("\n".join(rows) + "\n")
    mp = MavProxy(f"udpout:127.0.0.1:{port}", f"udpout:127.0.0.1:{out_port}", tmp_path)
    try:
        mp.expect(r"Detected vehicle 1:1")
        mp.send(f"wp load {tmp_path / 'mission.txt'}")
        mp.expect(r"Got MISSION_ACK: TYPE_MISSION: ACCEPTED")
        if autopilot == "ardupilot":
            mp.send("mode auto")
            mp.expect(r"DO_SET_MODE: ACCEPTED")
            mp.send("arm throttle")
            mp.expect(r"ARMED")
        else:                                   # MAVProxy 1.8's "mode" cannot name PX4's mission mode
            mp.send("arm throttle")
            mp.expect(r"ARMED")
            mp.send("long MAV_CMD_MISSION_START")
            mp.expect(r"MISSION_START: ACCEPTED")
        last = len(rows) - 2
        track: list[tuple[float, float]] = []
        complete = False
        deadline = time.monotonic() + 60
        while not complete and time.monotonic() < deadline:
            msg = listener.recv_match(type=["GLOBAL_POSITION_INT", "MISSION_CURRENT"], blocking=True,
                                      timeout=0.5)
            if msg is None:
                continue
            if msg.get_type() == "GLOBAL_POSITION_INT":
                track.append((msg.lat * 1e-7, msg.lon * 1e-7))
            elif msg.mission_state == 5:
                complete = msg.seq == last
        assert complete, "the mission never completed"
        mp.expect(rf"waypoint {last}\b")
        for lat, lon in points:
            assert _passes(track, lat, lon) < 2.5, (lat, lon)
    finally:
        mp.close()
        listener.close()


def test_mavproxy_signing(sim_vehicle, tmp_path):
    passphrase = "s3cret"
    key = hashlib.sha256(passphrase.encode()).hexdigest()      # MAVProxy's key: sha256 of the passphrase
    port = sim_vehicle("rover", "ardupilot", 5, "--signing-key", key)
    mp = MavProxy(f"udpout:127.0.0.1:{port}", None, tmp_path)
    try:
        mp.expect(r"Detected vehicle 1:1")
        mp.send("arm throttle")
        with pytest.raises(AssertionError):
            mp.expect(r"COMPONENT_ARM_DISARM", timeout=3.0)    # unsigned: ignored, no ACK at all
        mp.send(f"signing key {passphrase}")
        mp.send("arm throttle")
        mp.expect(r"Got COMMAND_ACK: COMPONENT_ARM_DISARM: ACCEPTED")
        assert "ARMED" in mp.lines
    finally:
        mp.close()
    assert math.isfinite(port)
