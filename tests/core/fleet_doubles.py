"""Test doubles for the fleet-control tests: a driver that really drives a plan in time, and plan makers.

:class:`PathDriver` advances along the uploaded plan at the plan's speed (times ``time_scale``) on an
injected clock and records every stretch it drives, so tests can check coverage and that nothing is driven
twice. It is a stand-in for a vehicle in the *transport* tests; the reliability tests also run through
``drivers/sim.py`` when that driver is installed.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from agrifleet.core.plan import Plan, SegmentKind, make_path, segment_lengths
from agrifleet.core.vehicle import VehicleSpec
from agrifleet.drivers.base import (
    Capabilities,
    CommandRejected,
    Driver,
    GnssQuality,
    MissionState,
    TelemetrySample,
)
from shapely.geometry import LineString, Polygon, box
from shapely.ops import unary_union


class PathDriver(Driver):
    """Drives the uploaded plan sample by sample at plan speed x ``time_scale``."""

    name = "path-double"

    def __init__(self, vehicle_id: str, url: str | None = None, *, clock: Callable[[], float] = time.monotonic,
                 time_scale: float = 50.0, kind: str = "tractor", features: tuple[str, ...] = ("spray",),
                 turn_radius_m: float = 3.0, battery_pct: float = 90.0) -> None:
        super().__init__(vehicle_id, url)
        self.clock, self.time_scale, self.kind = clock, time_scale, kind
        self.features = frozenset(features)
        self.spec = VehicleSpec(name=vehicle_id, kind=kind, min_turn_radius_m=turn_radius_m)
        self.battery_pct = battery_pct
        self.gnss = GnssQuality.RTK_FIXED
        self.lock = threading.Lock()
        self.plan: Plan | None = None
        self.state = MissionState.IDLE
        self.idx, self.offset_m = 0, 0.0
        self.t_last = clock()
        self.uploads: list[tuple[Plan, int]] = []
        self.driven: list[list[int]] = []        # per upload: the stretches i -> i+1 driven, in order
        self.calls: list[str] = []
        self.connected = False
        self.reject: set[str] = set()

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(kinds=frozenset({self.kind}), features=self.features)

    def connect(self, timeout_s: float = 10.0) -> None:
        self.connected = True

    def upload(self, plan: Plan, start_index: int = 0) -> None:
        with self.lock:
            self._check("upload")
            self.plan, self.idx, self.offset_m = plan, start_index, 0.0
            self.state = MissionState.IDLE
            self.uploads.append((plan, start_index))
            self.driven.append([])

    def _check(self, call: str) -> None:
        self.calls.append(call)
        if call in self.reject:
            raise CommandRejected(f"{call}()", "DENIED", "rejected by the test")

    def start(self) -> None:
        with self.lock:
            self._check("start")
            self._advance()
            self.state, self.t_last = MissionState.ACTIVE, self.clock()

    def pause(self) -> None:
        with self.lock:
            self._check("pause")
            self._advance()
            if self.state == MissionState.ACTIVE:
                self.state = MissionState.PAUSED

    def resume(self) -> None:
        with self.lock:
            self._check("resume")
            if self.state == MissionState.PAUSED:
                self.state, self.t_last = MissionState.ACTIVE, self.clock()

    def abort(self) -> None:
        with self.lock:
            self._check("abort")
            self._advance()
            self.state = MissionState.ABORTED

    def return_home(self) -> None:
        with self.lock:
            self._check("return_home")
            self._advance()
            self.state = MissionState.RETURNING

    def fail(self) -> None:
        with self.lock:
            self._advance()
            self.state = MissionState.FAILED

    def _advance(self) -> None:
        now = self.clock()
        dt, self.t_last = now - self.t_last, now
        if self.state != MissionState.ACTIVE or self.plan is None:
            return
        path = self.plan.path
        lengths = segment_lengths(path)
        while dt > 0 and self.idx < len(path) - 1:
            v = max(float(path["speed"][self.idx]), 0.1) * self.time_scale
            left = lengths[self.idx] - self.offset_m
            if dt * v >= left:
                dt -= left / v
                self.driven[-1].append(self.idx)
                self.idx, self.offset_m = self.idx + 1, 0.0
            else:
                self.offset_m += dt * v
                dt = 0.0
        if self.idx >= len(path) - 1:
            self.state = MissionState.COMPLETE

    def position(self) -> tuple[float, float, float]:
        if self.plan is None:
            return math.nan, math.nan, math.nan
        p = self.plan.path
        i = self.idx
        if i >= len(p) - 1:
            return float(p["x"][-1]), float(p["y"][-1]), float(p["heading"][-1])
        length = math.hypot(p["x"][i + 1] - p["x"][i], p["y"][i + 1] - p["y"][i])
        f = self.offset_m / length if length > 0 else 0.0
        return (float(p["x"][i] + f * (p["x"][i + 1] - p["x"][i])),
                float(p["y"][i] + f * (p["y"][i + 1] - p["y"][i])), float(p["heading"][i]))

    def telemetry(self, timeout_s: float = 0.0) -> Iterator[TelemetrySample]:
        with self.lock:
            self._advance()
            x, y, h = self.position()
            sample = TelemetrySample(t_mono_s=self.clock(), x=x, y=y, z=0.0, heading_rad=h,
                                     speed_mps=2.0 if self.state == MissionState.ACTIVE else 0.0,
                                     battery_pct=self.battery_pct, mode=self.state.name, armed=True,
                                     gnss=self.gnss, mission=self.state,
                                     plan_index=self.idx if self.plan is not None else -1)
        yield sample

    def close(self) -> None:
        self.connected = False

    def driven_xy(self) -> list[np.ndarray]:
        """Working stretches driven, as (2, 2) arrays of their end points."""
        out = []
        for (plan, _), stretches in zip(self.uploads, self.driven):
            p = plan.path
            for i in stretches:
                if p["sections"][i] and p["kind"][i] in (SegmentKind.SWATH, SegmentKind.HEADLAND):
                    out.append(np.array([[p["x"][i], p["y"][i]], [p["x"][i + 1], p["y"][i + 1]]]))
        return out


def lawnmower(x0: float, y0: float, width_m: float, n_swaths: int, length_m: float, speed_mps: float = 2.0,
              step_m: float = 1.0, boundary: Polygon | None = None, first_swath: int = 0) -> Plan:
    """Swaths north-south ``length_m`` long, ``width_m`` apart, joined by half-circle turns above/below."""
    parts = []
    r = width_m / 2
    n = int(length_m / step_m)
    for k in range(n_swaths):
        x = x0 + k * width_m
        ys = np.linspace(y0, y0 + length_m, n + 1)
        if k % 2:
            ys = ys[::-1]
        heading = math.pi / 2 if k % 2 == 0 else -math.pi / 2
        parts.append(make_path(np.column_stack([np.full(len(ys), x), ys])[:-1], np.full(len(ys) - 1, heading),
                               kind=SegmentKind.SWATH, speed_mps=speed_mps, sections=1, swath=first_swath + k))
        if k < n_swaths - 1:
            cy = ys[-1]
            a = np.linspace(math.pi, 0.0, 13) if k % 2 == 0 else np.linspace(-math.pi, 0.0, 13)
            xy = np.column_stack([x + r + r * np.cos(a), cy + r * np.sin(a)])
            parts.append(make_path(xy[:-1], kind=SegmentKind.TURN, speed_mps=speed_mps / 2))
        else:
            parts.append(make_path(np.array([[x, ys[-1]]]), np.array([heading]), kind=SegmentKind.SWATH,
                                   speed_mps=speed_mps, sections=0, swath=-1))
    path = np.concatenate(parts)
    if boundary is None:
        boundary = box(x0 - width_m, y0 - width_m - 2, x0 + n_swaths * width_m, y0 + length_m + width_m + 2)
    return Plan(path=path, boundary=boundary, width_m=width_m, turn_radius_m=r, field_name="test field")


def field_plans(vehicles: list[str], swaths_each: int = 4, width_m: float = 6.0, length_m: float = 60.0,
                speed_mps: float = 2.0) -> tuple[dict[str, Plan], Polygon]:
    """One field split into a strip per vehicle; every plan carries the whole field's boundary."""
    n = len(vehicles) * swaths_each
    field = box(-width_m, -width_m - 2, n * width_m, length_m + width_m + 2)
    plans = {v: lawnmower(k * swaths_each * width_m, 0.0, width_m, swaths_each, length_m, speed_mps,
                          boundary=field, first_swath=k * swaths_each).with_(vehicle=v)
             for k, v in enumerate(vehicles)}
    return plans, field


def covered_area(segments: list[np.ndarray], width_m: float) -> Any:
    lines = [LineString(s).buffer(width_m / 2, cap_style="flat") for s in segments if np.ptp(s, axis=0).any()]
    return unary_union(lines)


def planned_area(plans: list[Plan]) -> Any:
    segs = []
    for plan in plans:
        p = plan.path
        for i in range(len(p) - 1):
            if p["sections"][i] and p["kind"][i] in (SegmentKind.SWATH, SegmentKind.HEADLAND):
                segs.append(np.array([[p["x"][i], p["y"][i]], [p["x"][i + 1], p["y"][i + 1]]]))
    return covered_area(segs, plans[0].width_m)


# --- an in-process fleet: dispatcher + agents in threads ----------------------------------------------

from agrifleet.core.bus import BusConfig
from agrifleet.core.dispatcher import Dispatcher, DispatcherConfig

TEST_BUS = BusConfig(heartbeat_s=0.1, liveness=6, resend_s=0.25, reconnect_min_s=0.05, reconnect_max_s=0.5)


def wait_for(predicate: Callable[[], Any], timeout_s: float = 20.0, step_s: float = 0.05, what: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step_s)
    raise AssertionError(f"timed out waiting for {what or predicate}")


class FleetRig:
    """A dispatcher and one agent per vehicle, in threads, on loopback TCP with ephemeral ports."""

    def __init__(self, db: str, vehicles: list[str], *, time_scale: float = 40.0, replan_after_s: float = 60.0,
                 bus: BusConfig = TEST_BUS, make_driver: Callable[[str], Driver] | None = None,
                 keys_dir: str | None = None) -> None:
        self.db, self.vehicles, self.bus = db, vehicles, bus
        self.make_driver = make_driver or (lambda v: PathDriver(v, time_scale=time_scale))
        self.config = DispatcherConfig(bind="tcp://127.0.0.1:0", pub_bind="tcp://127.0.0.1:0", db=db, bus=bus,
                                       replan_after_s=replan_after_s, state_every_s=0.2, keys_dir=keys_dir)
        self.keys_dir = keys_dir
        self.dispatcher: Dispatcher | None = None
        self.agents: dict[str, Any] = {}
        self.drivers: dict[str, list[Driver]] = {v: [] for v in vehicles}

    def __enter__(self) -> FleetRig:
        self.dispatcher = Dispatcher(self.config).start()
        for v in self.vehicles:
            self.start_agent(v)
        wait_for(lambda: all(self.dispatcher.bus.connected(v) for v in self.vehicles), 10, what="registration")
        return self

    def start_agent(self, vehicle: str, server: str | None = None, keys: Any = None) -> Any:
        from agrifleet.drivers.agent import Agent
        driver = self.make_driver(vehicle)
        self.drivers.setdefault(vehicle, []).append(driver)
        if keys is None and self.keys_dir:
            from agrifleet.core.keys import load_client
            keys = load_client(self.keys_dir, vehicle)
        agent = Agent(vehicle, driver, server or self.dispatcher.endpoint, keys=keys, bus=self.bus).start()
        self.agents[vehicle] = agent
        return agent

    def kill_agent(self, vehicle: str) -> None:
        """The agent process dies without a word; its vehicle halts (link-loss failsafe)."""
        self.agents.pop(vehicle).stop(close_driver=False)
        driver = self.drivers[vehicle][-1]
        if isinstance(driver, PathDriver):
            with driver.lock:
                driver._advance()
                if driver.state == MissionState.ACTIVE:
                    driver.state = MissionState.PAUSED
        else:
            driver.pause()

    def call(self, op: str, **args: Any) -> Any:
        return self.dispatcher.call(op, **args)

    def extra_agent(self, name: str, vehicle: str, keys: Any) -> Any:
        """An agent outside the rig's list (e.g. with a stolen or unknown key), tracked for clean-up."""
        agent = self.start_agent(vehicle, keys=keys)
        self.agents[name] = self.agents.pop(vehicle)
        return agent

    def wait_job(self, job: int, timeout_s: float = 30.0, state: str = "complete") -> dict[str, Any]:
        status = wait_for(lambda: (s := self.call("status", job=job))["state"] != "active" and s, timeout_s,
                          what=f"job {job} to end")
        assert status["state"] == state, status
        return status

    def __exit__(self, *exc: object) -> None:
        for agent in self.agents.values():
            agent.stop()
        if self.dispatcher is not None:
            self.dispatcher.stop()


# --- fuzzing ---------------------------------------------------------------------------------------------

def fuzz_frames(rng: Any, n: int, examples: list[bytes]) -> list[bytes]:
    """``n`` hostile frames: random bytes, mutated valid frames, and type-confused msgpack maps."""
    import msgpack
    keys = ["v", "kind", "id", "ref", "mission", "index", "state", "coverage", "command", "chunk", "n_chunks",
            "data", "op", "args", "vehicle", "session", "t_s", "x", "ok", "code", "text"]
    junk_values = [None, True, -1, 0, 1, 2**40, -2**63, 3.5, float("nan"), "", "x" * 300, b"\x00" * 17, [], {},
                   [1, [2, [3]]], {"a": {"b": 1}}, 2**64 - 1]
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.3:
            out.append(rng.randbytes(rng.randrange(0, 120)))
        elif r < 0.85:
            frame = bytearray(rng.choice(examples))
            for _ in range(rng.randint(1, 6)):
                op = rng.randrange(4)
                pos = rng.randrange(len(frame) + 1)
                if op == 0 and frame:
                    frame[min(pos, len(frame) - 1)] ^= 1 << rng.randrange(8)
                elif op == 1:
                    frame[pos:pos] = rng.randbytes(rng.randint(1, 9))
                elif op == 2:
                    del frame[pos:pos + rng.randint(1, 9)]
                else:
                    del frame[pos:]
            out.append(bytes(frame))
        else:
            doc = {rng.choice(keys): rng.choice(junk_values) for _ in range(rng.randint(0, 8))}
            if rng.random() < 0.7:
                doc["v"], doc["kind"] = 1, rng.randint(0, 16)
            out.append(msgpack.packb(doc, use_bin_type=True))
    return out


# --- a dispatcher process -------------------------------------------------------------------------------

def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_process(db: str, port: int) -> Any:
    """``agrifleet serve`` as its own process (so a test can SIGKILL it)."""
    import subprocess
    import sys
    cmd = [sys.executable, "-m", "agrifleet.core.cli", "serve", "--bind", f"tcp://127.0.0.1:{port}", "--pub", "none",
           "--db", db, "--heartbeat", "0.25"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def ping(url: str) -> bool:
    from agrifleet.core.bus import request
    from agrifleet.core.errors import ConnectionLost
    try:
        return bool(request(url, "ping", timeout_s=0.5))
    except ConnectionLost:
        return False


def status_or_none(url: str, job: int) -> dict | None:
    from agrifleet.core.bus import request
    from agrifleet.core.errors import ConnectionLost
    try:
        return request(url, "status", {"job": job}, timeout_s=1.0)
    except ConnectionLost:
        return None
