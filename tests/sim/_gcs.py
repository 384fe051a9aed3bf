"""A minimal pymavlink ground station and a simulated-vehicle harness for the autopilot tests.

The ground station talks to the vehicle over real loopback UDP. In *stepped* tests nothing runs in the
background: ``pump`` (the vehicle's ``service``) is called while the station waits, and the world is
stepped explicitly, so a test is deterministic in simulated time.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np

os.environ["MAVLINK20"] = "1"
from pymavlink import mavutil  # noqa: E402

from agrifleet.core.geo import LocalFrame  # noqa: E402
from agrifleet.core.vehicle import VehicleSpec  # noqa: E402
from agrifleet.sim._mav_links import Link  # noqa: E402
from agrifleet.sim.autopilot import AutopilotConfig, SimAutopilot  # noqa: E402
from agrifleet.sim.vehicles import EXAMPLE_DRONE, EXAMPLE_ROVER, model_for  # noqa: E402
from agrifleet.sim.world import World  # noqa: E402

LAT0, LON0 = 52.0, 5.0


def latlon_at(x_east_m: float, y_north_m: float) -> tuple[float, float]:
    """Latitude/longitude of a point given in metres from (LAT0, LON0)."""
    lon, lat = LocalFrame(LAT0, LON0).to_wgs84(np.array([x_east_m, y_north_m]))
    return float(lat), float(lon)


@dataclass
class Vehicle:
    world: World
    ap: SimAutopilot
    link: Link | None

    def pump(self) -> None:
        """Serve the link (what arrived is handled at once)."""
        if self.link is not None:
            self.ap.service(self.link)

    def tick(self) -> None:
        """Serve the link and advance the world one step: a ground station waiting with this as its pump
        sees a live vehicle (about 5 simulated seconds per wall second)."""
        self.pump()
        self.ap.tick_protocol()
        self.world.step()

    def run(self, seconds: float, until: Callable[[], bool] | None = None) -> float:
        """Step the world for up to ``seconds`` simulated seconds, serving the link between steps."""
        t0 = self.world.t_s
        n = int(round(seconds / self.world.dt_s))
        for _ in range(n):
            self.pump()
            if until is not None and until():
                break
            self.world.step()
        return self.world.t_s - t0

    @property
    def xy(self) -> tuple[float, float]:
        s = self.ap.model.state
        return s.x, s.y


def make_vehicle(kind: str = "copter", autopilot: str = "px4", *, link: bool = True,
                 spec: VehicleSpec | None = None, params: dict[str, float] | None = None,
                 signing_key: bytes | None = None, wall_clock: Callable[[], float] | None = None,
                 seed: int = 0, **model_options: Any) -> Vehicle:
    world = World(rng=np.random.default_rng(seed), dt_s=0.05, frame=LocalFrame(LAT0, LON0))
    spec = spec or (EXAMPLE_DRONE if kind == "copter" else EXAMPLE_ROVER)
    links = [Link("udpin:127.0.0.1:0", sysid=1, compid=1)] if link else []
    config = AutopilotConfig(autopilot=autopilot, home_lat_deg=LAT0, home_lon_deg=LON0, home_alt_m=10.0,
                             params=params or {}, signing_key=signing_key)
    ap = SimAutopilot(world, "v1", model_for(spec, **model_options), config, links=links,
                      wall_clock=wall_clock or world.now)
    return Vehicle(world, ap, links[0] if links else None)


class Gcs:
    """A ground station (255/230 like MAVProxy) on ``udpout`` to the vehicle's listening port."""

    def __init__(self, port: int, *, sysid: int = 255, compid: int = 230,
                 pump: Callable[[], None] | None = None, signing_key: bytes | None = None,
                 target: tuple[int, int] = (1, 1)) -> None:
        self.conn = mavutil.mavlink_connection(f"udpout:127.0.0.1:{port}", source_system=sysid,
                                               source_component=compid)
        if signing_key is not None:
            self.conn.setup_signing(signing_key, sign_outgoing=True)
        self.pump = pump or (lambda: None)
        self.target = target
        self.mav = self.conn.mav
        self.log: list[Any] = []
        self.heartbeat()

    def close(self) -> None:
        self.conn.close()

    def heartbeat(self) -> None:
        self.mav.heartbeat_send(6, 8, 0, 0, 4)

    def recv(self, types: str | Iterable[str], timeout: float = 3.0,
             cond: Callable[[Any], bool] | None = None) -> Any:
        """The next message of ``types`` (satisfying ``cond``), or None after ``timeout`` wall seconds."""
        types = [types] if isinstance(types, str) else list(types)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.conn.recv_match(blocking=False)
            if msg is None:               # nothing waiting: let the vehicle work, then wait a little
                self.pump()
                msg = self.conn.recv_match(blocking=True, timeout=0.01)
                if msg is None:
                    continue
            self.log.append(msg)
            if msg.get_type() in types and (cond is None or cond(msg)):
                return msg
        return None

    def collect(self) -> None:
        """Read everything waiting into the log (call it often: a socket buffer holds a few hundred)."""
        while (msg := self.conn.recv_match(blocking=False)) is not None:
            self.log.append(msg)

    def got(self, mtype: str, cond: Callable[[Any], bool] | None = None, timeout: float = 3.0) -> Any:
        """The first message of ``mtype`` already received, or the next one to arrive."""
        earlier = self.seen(mtype, cond)
        return earlier[0] if earlier else self.recv(mtype, timeout, cond)

    def seen(self, mtype: str, cond: Callable[[Any], bool] | None = None) -> list[Any]:
        """Messages of ``mtype`` received so far (while waiting for others, too)."""
        self.collect()
        return [m for m in self.log if m.get_type() == mtype and (cond is None or cond(m))]

    def drain(self) -> None:
        while self.conn.recv_match(blocking=False) is not None:
            pass

    def command(self, command: int, *params: float, timeout: float = 3.0,
                target: tuple[int, int] | None = None, use_int: bool = False) -> Any:
        """Send COMMAND_LONG (or COMMAND_INT) and return its COMMAND_ACK (None if none came)."""
        p = list(params) + [0.0] * (7 - len(params))
        ts, tc = target or self.target
        if use_int:
            self.mav.command_int_send(ts, tc, 0, command, 0, 0, p[0], p[1], p[2], p[3],
                                      int(p[4] * 1e7), int(p[5] * 1e7), p[6])
        else:
            self.mav.command_long_send(ts, tc, command, 0, *p)
        return self.recv("COMMAND_ACK", timeout, cond=lambda m: m.command == command)

    def upload(self, items: list[tuple], mission_type: int = 0, timeout: float = 5.0,
               skip_first_request: bool = False) -> Any:
        """Upload ``(frame, command, p1, p2, p3, p4, lat_deg, lon_deg, z)`` items; return the MISSION_ACK."""
        ts, tc = self.target
        self.mav.mission_count_send(ts, tc, len(items), mission_type)
        skipped = not skip_first_request
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.recv(["MISSION_REQUEST_INT", "MISSION_REQUEST", "MISSION_ACK"],
                            timeout=deadline - time.monotonic())
            if msg is None:
                return None
            if msg.get_type() == "MISSION_ACK":
                return msg
            if not skipped:
                skipped = True
                continue
            frame, cmd, p1, p2, p3, p4, lat, lon, z = items[msg.seq]
            self.mav.mission_item_int_send(ts, tc, msg.seq, frame, cmd, 0, 1, p1, p2, p3, p4,
                                           int(round(lat * 1e7)), int(round(lon * 1e7)), z, mission_type)
        return None

    def download(self, mission_type: int = 0) -> list[Any] | None:
        ts, tc = self.target
        self.mav.mission_request_list_send(ts, tc, mission_type)
        count = self.recv("MISSION_COUNT")
        if count is None:
            return None
        items = []
        for seq in range(count.count):
            self.mav.mission_request_int_send(ts, tc, seq, mission_type)
            item = self.recv("MISSION_ITEM_INT", cond=lambda m, s=seq: m.seq == s)
            if item is None:
                return None
            items.append(item)
        self.mav.mission_ack_send(ts, tc, 0, mission_type)
        return items


def waypoint(x: float, y: float, z: float = 5.0, hold_s: float = 0.0, radius_m: float = 0.0) -> tuple:
    lat, lon = latlon_at(x, y)
    return (6, 16, hold_s, radius_m, 0.0, math.nan, lat, lon, z)


def do_item(command: int, p1: float = 0.0, p2: float = 0.0) -> tuple:
    return (2, command, p1, p2, 0.0, 0.0, 0.0, 0.0, 0.0)


def home_item() -> tuple:
    return (0, 16, 0.0, 0.0, 0.0, 0.0, LAT0, LON0, 0.0)
