"""MAVLink benchmarks: simulated drones with MAVLink in the loop, and mission uploads against MAVSDK.

1. *Fleet speed.* N simulated drones (PX4 personality, one UDP link each) run in a separate process, paced
   at a requested speed factor; N MAVLink drivers in this process upload a spray plan to each, start them
   and read their telemetry until every drone has finished. Reported: the speed factor the vehicle
   process achieved (simulated seconds per wall second), medians of repeated runs. Target: >= 10x with 5.
2. *Mission upload.* One simulated vehicle in a separate process, with one UDP port for each client;
   agrifleet's MAVLink driver and MAVSDK 4 (MissionRaw, C++ in-process) upload the same 1,000
   MISSION_ITEM_INT items to it, alternately, in the same run. Reported: every run, medians, best runs and
   the driver / MAVSDK ratio (<= 1 means the driver is not slower); also
   the driver's whole ``upload(plan)`` (conversion, upload and read-back check) for a plan of ~1,000 items.

Run: ``python bench/mavlink.py [--drones 5] [--speed 20] [--repeat 5] [--items 1000]``.
"""
from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import statistics
import sys
import time
from typing import Any

import numpy as np

from agrifleet.core.geo import LocalFrame
from agrifleet.core.plan import Plan, SegmentKind, make_path

FRAME = LocalFrame(52.0, 5.0)


def spray_plan(offset_x: float, passes: int = 4, length_m: float = 60.0, step_m: float = 2.0) -> Plan:
    """A drone's lawnmower (5 m apart, 4 m high, 5 m/s, sprayer on along the passes)."""
    parts = []
    for k in range(passes):
        xs = np.arange(0.0, length_m + step_m / 2, step_m)
        if k % 2:
            xs = xs[::-1]
        pts = np.column_stack([offset_x + xs, np.full(len(xs), 5.0 * k)])
        parts.append(make_path(pts, kind=SegmentKind.SWATH, speed_mps=5.0, sections=1, swath=k, z_m=4.0))
    return Plan(np.concatenate(parts), frame=FRAME, implement="sprayer:boom_width_m=5,n_sections=1,"
                                                                "actuation=sprayer,platform=air")


# --- vehicle process ------------------------------------------------------------------------------------
def _vehicles(n: int, speed: float, ready: Any, stop: Any, result: Any, autopilot: str = "px4",
              links_each: int = 1) -> None:
    from agrifleet.sim._mav_links import Link
    from agrifleet.sim._mav_runner import Runner
    from agrifleet.sim.autopilot import AutopilotConfig, SimAutopilot
    from agrifleet.sim.vehicles import EXAMPLE_DRONE, model_for
    from agrifleet.sim.world import World

    world = World(rng=np.random.default_rng(0), dt_s=0.05, frame=FRAME)
    aps = []
    for k in range(n):
        links = [Link("udpin:127.0.0.1:0", sysid=k + 1, compid=1) for _ in range(links_each)]
        lon, lat = FRAME.to_wgs84(np.array([k * 80.0, -10.0]))
        config = AutopilotConfig(autopilot=autopilot, home_lat_deg=float(lat), home_lon_deg=float(lon),
                                 sysid=k + 1)
        aps.append(SimAutopilot(world, f"d{k + 1}", model_for(EXAMPLE_DRONE), config, links=links))
    ready.send([link.local_port for ap in aps for link in ap.links])
    runner = Runner(world, aps, speed_factor=speed)
    runner.start()
    stop.wait()
    stats = runner.stop()
    result.send((stats.sim_s, stats.wall_s, stats.messages) if stats else (0.0, 1.0, 0))


def _start_vehicles(n: int, speed: float, autopilot: str = "px4",
                    links_each: int = 1) -> tuple[Any, list[int], Any, Any]:
    ctx = mp.get_context("spawn")
    ready_r, ready_w = ctx.Pipe(False)
    result_r, result_w = ctx.Pipe(False)
    stop = ctx.Event()
    proc = ctx.Process(target=_vehicles, args=(n, speed, ready_w, stop, result_w, autopilot, links_each),
                       daemon=True)
    proc.start()
    ports = ready_r.recv()
    return proc, ports, stop, result_r


# --- 1. fleet speed ---------------------------------------------------------------------------------------
def fleet_run(n: int, speed: float) -> tuple[float, float, float]:
    """(achieved speed factor, simulated s, wall s) for one run of ``n`` drones."""
    from agrifleet.drivers.base import MissionState
    from agrifleet.drivers.mavlink import MavlinkDriver

    proc, ports, stop, result = _start_vehicles(n, speed)
    drivers = [MavlinkDriver(f"d{k + 1}", f"udpout:127.0.0.1:{port}") for k, port in enumerate(ports)]
    try:
        for d in drivers:
            d.connect(10)
        for k, d in enumerate(drivers):
            d.upload(spray_plan(k * 80.0))
        for d in drivers:
            d.start()
        ends = (MissionState.COMPLETE, MissionState.FAILED, MissionState.ABORTED)
        state = [MissionState.ACTIVE] * n
        deadline = time.monotonic() + 300
        while any(s not in ends for s in state) and time.monotonic() < deadline:
            for k, d in enumerate(drivers):
                for s in d.telemetry(0.02):
                    state[k] = s.mission
        if any(s is not MissionState.COMPLETE for s in state):
            raise RuntimeError(f"drones ended as {[s.name for s in state]}")
    finally:
        stop.set()
        sim_s, wall_s, _ = result.recv()
        proc.join(10)
        for d in drivers:
            d.close()
    return sim_s / wall_s, sim_s, wall_s


# --- 2. mission upload ------------------------------------------------------------------------------------
def wire_items(n: int) -> list[tuple]:
    """``n`` NAV_WAYPOINT items on a 5 m grid (MISSION_ITEM_INT fields, PX4 layout)."""
    out = []
    for k in range(n):
        lon, lat = FRAME.to_wgs84(np.array([(k % 50) * 5.0, (k // 50) * 5.0]))
        out.append((6, 16, 1 if k == 0 else 0, 1, 0.0, 0.0, 0.0, math.nan, round(lat * 1e7), round(lon * 1e7),
                    4.0))
    return out


def upload_race(n_items: int, repeat: int) -> dict[str, list[float]]:
    from agrifleet.drivers.mavlink import MavlinkDriver

    proc, ports, stop, result = _start_vehicles(1, 1.0, links_each=2)   # one port per client, as in the
    port, sdk_port = ports                                                # field (API port, GCS port)
    times: dict[str, list[float]] = {"driver": [], "mavsdk": [], "driver_plan": []}
    items = wire_items(n_items)
    driver = MavlinkDriver("v", f"udpout:127.0.0.1:{port}", max_items=2000)
    driver.connect(10)
    sdk = system = raw = None
    try:
        from mavsdk import ComponentType, Configuration, Mavsdk
        from mavsdk.plugins.mission_raw import MissionItem, MissionRaw
        sdk = Mavsdk(Configuration.create_with_component_type(ComponentType.GROUND_STATION))
        sdk.add_any_connection(f"udpout://127.0.0.1:{sdk_port}")
        system = sdk.first_autopilot(10.0)
        raw = MissionRaw(system)
        sdk_items = [MissionItem(k, *it[:8], it[8], it[9], it[10], 0) for k, it in enumerate(items)]
    except ImportError:
        print("mavsdk is not installed: the MAVSDK column stays empty", file=sys.stderr)
    plan = big_plan(n_items)
    try:
        for _ in range(repeat):
            t = time.perf_counter()
            driver._client.upload("bench", items)  # type: ignore[union-attr]
            times["driver"].append(time.perf_counter() - t)
            if raw is not None:
                t = time.perf_counter()
                raw.upload_mission(sdk_items)
                times["mavsdk"].append(time.perf_counter() - t)
            t = time.perf_counter()
            driver.upload(plan)
            times["driver_plan"].append(time.perf_counter() - t)
        times["plan_items"] = [float(len(driver._parts[0].items))]
    finally:
        driver.close()
        del raw, system, sdk
        stop.set()
        result.recv()
        proc.join(10)
    return times


def big_plan(n_items: int) -> Plan:
    """A plan whose mission has about ``n_items`` items: zig-zag passes that keep every vertex."""
    k = np.arange(n_items - 2)
    xy = np.column_stack([k * 2.0 % 200.0, (k * 2.0 // 200.0) * 5.0 + (k % 2) * 0.5])
    return Plan(make_path(xy, kind=SegmentKind.TRANSIT, speed_mps=5.0, z_m=4.0), frame=FRAME)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--drones", type=int, default=5)
    ap.add_argument("--speed", type=float, default=20.0, help="requested speed factor (inf: flat out)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--skip", choices=("fleet", "upload"), default=None)
    args = ap.parse_args(argv)
    if args.skip != "fleet":
        for speed in (args.speed, math.inf):
            runs = [fleet_run(args.drones, speed) for _ in range(args.repeat)]
            factors = [r[0] for r in runs]
            label = "flat out" if math.isinf(speed) else f"requested x{speed:g}"
            runs_text = ", ".join(f"{f:.1f}" for f in factors)
            print(f"fleet: {args.drones} drones, {label}: achieved x{statistics.median(factors):.1f} "
                  f"(runs {runs_text}; {statistics.median(r[1] for r in runs):.0f} s simulated in "
                  f"{statistics.median(r[2] for r in runs):.1f} s)")
    if args.skip != "upload":
        t = upload_race(args.items, args.repeat)
        drv, sdk = t["driver"], t["mavsdk"]
        ms = ", ".join
        print(f"upload of {args.items} items, {len(drv)} alternating runs (ms): "
              f"driver {ms(f'{x * 1e3:.0f}' for x in drv)}; MAVSDK {ms(f'{x * 1e3:.0f}' for x in sdk)}")
        if sdk:
            pairs = [a / b for a, b in zip(drv, sdk, strict=True)]
            print(f"  median driver {statistics.median(drv) * 1e3:.0f} ms, "
                  f"MAVSDK {statistics.median(sdk) * 1e3:.0f} ms; best driver {min(drv) * 1e3:.0f} ms, "
                  f"MAVSDK {min(sdk) * 1e3:.0f} ms; driver / MAVSDK: "
                  f"median of run pairs {statistics.median(pairs):.2f}, best {min(drv) / min(sdk):.2f}")
        print(f"  driver upload(plan) -> {int(t['plan_items'][0])} items, conversion + upload + read-back "
              f"check: median {statistics.median(t['driver_plan']) * 1e3:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
