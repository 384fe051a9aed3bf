"""Scenario trials: how fast the example scenarios run headless, what the fleet logic in the loop costs, and
how sweeps scale. Prints medians of ``--repeats``; peers are measured in the same run.

- every deterministic example of ``examples/scenarios`` through ``run_trial`` (world, agents, dispatcher's
  fleet manager on the loopback transport, faults, coverage, metrics): wall and CPU time, real-time factor;
- the same trials without faults, against the *bare* simulator driving the same plans (the world, the
  ``sim`` drivers and the coverage raster, plans uploaded directly: no agents, no fleet manager, no
  transport, no metrics): the ratio is what running the real fleet logic in the loop costs;
- a sweep of ``--sweep`` trials of the CI example on 1 and 2 local processes and on a 2-process Dask
  ``LocalCluster``: wall time and speed-up (the machine has 2 cores shared with other work).

    python bench/sim_trials.py [--repeats 3] [--sweep 8] [--json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import time
from pathlib import Path

import numpy as np
from agrifleet.core.implement import build_implement
from agrifleet.drivers.base import MissionState
from agrifleet.drivers.sim import SimDriver
from agrifleet.sim.coverage import CoverageMap, CoverageRecorder
from agrifleet.sim.runner import run_trial
from agrifleet.sim.scenario import Scenario, load_scenario
from agrifleet.sim.sweep import run_sweep, trials_for
from agrifleet.sim.world import World

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "scenarios"


def timed_trial(sc: Scenario) -> dict:
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_trial(sc)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    s = result.report["summary"]
    return {"wall_s": wall, "cpu_s": cpu, "sim_s": s["sim_time_s"], "coverage": s["coverage_min"],
            "passed": result.passed, "plans": {vid: p for j in result.record.jobs for p in j.plans.values()
                                               for vid in [p.vehicle]}}


def bare(sc: Scenario, plans: dict) -> dict:
    """The same vehicles driving the same plans in the same world, without the fleet logic around them."""
    world = World(rng=np.random.default_rng(sc.seed), dt_s=sc.world.dt_s, wind=sc.world.wind,
                  fields=[f.field for f in sc.fields], frame=sc.world.frame)
    drivers = []
    for v in sc.fleet:
        d = SimDriver(v.id, world=world, spec=v.spec, implement=v.implement or None, start_pose=v.start,
                      clock=world.now, control_period_s=sc.run.control_period_s,
                      telemetry_period_s=sc.run.telemetry_period_s)
        d.connect()
        d.upload(plans[v.id])
        d.start()
        drivers.append(d)
    for job in sc.jobs:
        cmap = CoverageMap(sc.field(job.field).boundary, sc.run.coverage_cell_m)
        CoverageRecorder(cmap).attach(world, [(v, build_implement(sc.vehicle(v).implement or job.implement))
                                              for v in job.vehicles])
    t0, c0 = time.perf_counter(), time.process_time()
    world.run(sc.run.time_limit_s, until=lambda w: all(d.mission_state is MissionState.COMPLETE for d in drivers))
    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "sim_s": world.t_s}


def median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sweep", type=int, default=8, help="trials in the sweep comparison")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out: dict = {"trials": {}, "fleet_overhead": {}, "sweep": {}}

    for path in sorted(EXAMPLES.glob("*.toml")):
        sc = load_scenario(path)
        if any(v.driver != "sim" for v in sc.fleet):
            continue                                   # paced: its speed is set by the wall clock
        runs = [timed_trial(sc) for _ in range(args.repeats)]
        out["trials"][path.stem] = {"sim_s": runs[0]["sim_s"], "wall_s": median(runs, "wall_s"),
                                    "cpu_s": median(runs, "cpu_s"), "passed": runs[0]["passed"],
                                    "vehicles": len(sc.fleet),
                                    "rtf": runs[0]["sim_s"] / median(runs, "wall_s")}
        calm = dataclasses.replace(sc, faults=())
        fleet_runs, bare_runs = [], []
        for _ in range(args.repeats):                  # taking turns, so machine load hits both alike
            fleet_runs.append(timed_trial(calm))
            plans = {vid: p for vid, p in fleet_runs[-1]["plans"].items()}
            if any(v.start is None for v in calm.fleet) or len(plans) != len(calm.fleet):
                break
            bare_runs.append(bare(calm, plans))
        if bare_runs:
            f_cpu = median(fleet_runs, "cpu_s") / fleet_runs[0]["sim_s"]
            b_cpu = median(bare_runs, "cpu_s") / bare_runs[0]["sim_s"]
            out["fleet_overhead"][path.stem] = {"fleet_cpu_ms_per_sim_s": 1e3 * f_cpu,
                                                "bare_cpu_ms_per_sim_s": 1e3 * b_cpu, "ratio": f_cpu / b_cpu}

    ci = load_scenario(EXAMPLES / "ci-two-tractors.toml")
    trials = trials_for([ci], args.sweep)
    for label, kw in (("1 process", {"workers": 1}), ("2 processes", {"workers": 2}), ("dask 2 processes", None)):
        t0 = time.perf_counter()
        if kw is None:
            from distributed import Client, LocalCluster
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c, \
                    Client(c) as client:
                t_ready = time.perf_counter()
                out["sweep"]["dask cluster start-up s"] = t_ready - t0    # reported apart
                summaries = run_sweep(trials, client=client)
                wall = time.perf_counter() - t_ready
        else:
            summaries = run_sweep(trials, **kw)
            wall = time.perf_counter() - t0
        out["sweep"][label] = {"wall_s": wall, "trials_per_min": 60 * len(trials) / wall,
                               "passed": sum(s["passed"] for s in summaries)}
    base = out["sweep"]["1 process"]["wall_s"]
    for label in ("2 processes", "dask 2 processes"):
        out["sweep"][label]["speed_up"] = base / out["sweep"][label]["wall_s"]

    if args.json:
        print(json.dumps(out, indent=1, default=float))
        return
    print(f"{'trial':<32} {'vehicles':>8} {'sim s':>8} {'wall s':>8} {'CPU s':>8} {'x real time':>12} passed")
    for name, r in out["trials"].items():
        print(f"{name:<32} {r['vehicles']:>8} {r['sim_s']:>8.0f} {r['wall_s']:>8.2f} {r['cpu_s']:>8.2f} "
              f"{r['rtf']:>12.0f} {r['passed']}")
    print(f"\n{'without faults':<32} {'fleet CPU ms/sim s':>19} {'bare CPU ms/sim s':>18} {'ratio':>6}")
    for name, r in out["fleet_overhead"].items():
        print(f"{name:<32} {r['fleet_cpu_ms_per_sim_s']:>19.2f} {r['bare_cpu_ms_per_sim_s']:>18.2f} "
              f"{r['ratio']:>6.2f}")
    print(f"\nsweep of {len(trials)} CI trials")
    for label, r in out["sweep"].items():
        if isinstance(r, dict):
            extra = f", speed-up {r['speed_up']:.2f}" if "speed_up" in r else ""
            print(f"  {label:<18} {r['wall_s']:>7.2f} s ({r['trials_per_min']:.0f} trials/min{extra}), "
                  f"{r['passed']} passed")
    if math.isfinite(out["sweep"].get("dask cluster start-up s", math.nan)):
        print(f"  (Dask LocalCluster start-up, not counted: {out['sweep']['dask cluster start-up s']:.2f} s)")


if __name__ == "__main__":
    main()
