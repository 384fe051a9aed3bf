"""Simulator speed: 20 vehicles bound directly (the ``sim`` driver, no MAVLink) with the as-applied raster at
0.1 m, as a multiple of real time on one core. Peers measured in the same run: the same trial without the
coverage raster, with the numpy reference kernel, and a single vehicle. Prints medians of ``--repeats``.

The trial is single-threaded; the real-time factor is simulated time over the process's CPU time (what
one core gives it, whatever else the machine runs), with wall time printed beside it.

    python bench/sim_speed.py [--vehicles 20] [--repeats 3] [--cell 0.1]
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
from agrifleet.core.plan import Plan, SegmentKind, make_path
from agrifleet.drivers.base import MissionState
from agrifleet.drivers.sim import SimDriver
from agrifleet.sim.coverage import CoverageMap, CoverageRecorder
from agrifleet.sim.energy import Payload
from agrifleet.sim.world import World
from shapely.geometry import box

WIDTH_M = 12.0
LENGTH_M = 200.0


def strip_plan(x0: float) -> Plan:
    """Two swaths up and down a 24 m strip, joined by a semicircular turn."""
    a = make_path([(x0 + 6, 0), (x0 + 6, LENGTH_M)], kind=SegmentKind.SWATH, speed_mps=2.5, sections=0b111,
                  swath=0)
    th = np.linspace(math.pi, 0, 40)[1:-1]
    turn = make_path(np.column_stack([x0 + 12 + 6 * np.cos(th), LENGTH_M + 6 * np.sin(th)]),
                     kind=SegmentKind.TURN, speed_mps=1.5)
    b = make_path([(x0 + 18, LENGTH_M), (x0 + 18, 0)], kind=SegmentKind.SWATH, speed_mps=2.5, sections=0b111,
                  swath=1)
    return Plan(np.concatenate([a, turn, b]))


def trial(n: int, coverage: str, cell_m: float, seed: int = 1) -> tuple[float, float, float, float]:
    """Returns (simulated seconds, CPU seconds, wall seconds, coverage ratio)."""
    world = World(rng=np.random.default_rng(seed), dt_s=0.05)
    payload = Payload.uniform(WIDTH_M, 3, rate_per_ha=150.0)
    drivers = []
    for k in range(n):
        d = SimDriver(f"t{k}", world=world, spec="tractor", payload=payload, clock=world.now,
                      start_pose=(24.0 * k + 6, -6.0, math.pi / 2))
        d.connect()
        d.upload(strip_plan(24.0 * k))
        d.start()
        drivers.append(d)
    rec = None
    cmap = None
    if coverage != "off":
        cmap = CoverageMap(box(0, 0, 24.0 * n, LENGTH_M), cell_m=cell_m, reference=coverage == "reference")
        rec = CoverageRecorder(cmap, every_n_steps=2).attach(world, [(f"t{k}", payload) for k in range(n)])
    t0, c0 = time.perf_counter(), time.process_time()
    world.run(1000.0, until=lambda w: all(d.mission_state is MissionState.COMPLETE for d in drivers))
    if rec is not None:
        rec.flush()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ratio = cmap.report().coverage_ratio if cmap is not None else math.nan
    for d in drivers:
        list(d.telemetry())
    return world.t_s, cpu, wall, ratio


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vehicles", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cell", type=float, default=0.1)
    args = ap.parse_args()
    n = args.vehicles
    cases = [(f"{n} vehicles, raster (kernel)", n, "kernel"),
             (f"{n} vehicles, no raster", n, "off"),
             (f"{n} vehicles, raster (numpy reference)", n, "reference"),
             ("1 vehicle, raster (kernel)", 1, "kernel")]
    results = {}
    for label, n, cov in cases:
        runs = [trial(n, cov, args.cell) for _ in range(args.repeats if cov != "reference" else 1)]
        sim_s = runs[0][0]
        cpu = statistics.median(r[1] for r in runs)
        wall = statistics.median(r[2] for r in runs)
        results[label] = sim_s / cpu
        print(f"{label:<40} sim {sim_s:6.1f} s  cpu {cpu:6.2f} s  wall {wall:6.2f} s  "
              f"real-time factor {sim_s / cpu:7.1f}x  coverage {runs[0][3]:.4f}")
    base = results[cases[0][0]]
    print(f"raster cost: {results[cases[1][0]] / base:.2f}x the time without it; kernel raster "
          f"{base / results[cases[2][0]]:.1f}x faster than with the numpy reference")
    print(f"target >= 200x real time: {'met' if base >= 200 else 'NOT met'} ({base:.0f}x)")


if __name__ == "__main__":
    main()
