"""Benchmark: shortest Dubins and Reeds-Shepp paths, agrifleet against OMPL and rsplan.

Random pose pairs (fixed seed) in a square box. For each curve kind it times

- agrifleet batch: ``planners.curves.shortest_lengths`` on all pairs at once;
- agrifleet single: ``planners.curves.shortest`` in a Python loop (returns a full ``Curve``);
- agrifleet kernel single: the kernel's scalar entry point in a Python loop (what ``shortest`` wraps);
- OMPL: ``DubinsStateSpace`` / ``ReedsSheppStateSpace`` ``distance`` in a Python loop on two pre-allocated
  states, setting x, y and yaw for every pair (bound methods, plain floats: OMPL at its best from Python);
- rsplan (Reeds-Shepp only, pure Python, fewer pairs): ``rsplan.planner.path(...).total_length``.

Every figure is the median of ``--repeat`` runs measured in the same process, so the ratios compare peers
under the same machine load. Lengths are checked against OMPL (max relative difference printed; the run
fails when it exceeds 1e-6). ``--json`` prints the results as JSON instead of the table.

    python bench/turns.py [--pairs 100000] [--rsplan-pairs 300] [--radius 5] [--box 100] [--repeat 5] [--json]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from agrifleet.ext import kernel
from agrifleet.planners.curves import shortest, shortest_lengths

TARGETS = {"batch_vs_ompl": 10.0, "single_vs_ompl": 1.0, "batch_vs_rsplan": 100.0}


def median_times(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median wall time of each function; the runs take turns, so a change of machine load hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def random_pairs(n: int, box_m: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lo, hi = [0.0, 0.0, -math.pi], [box_m, box_m, math.pi]
    return rng.uniform(lo, hi, (n, 3)), rng.uniform(lo, hi, (n, 3))


def ompl_loop(space: Any, starts: list[list[float]], goals: list[list[float]]) -> list[float]:
    a, b = space.allocState(), space.allocState()
    ax, ay, ah, bx, by, bh = a.setX, a.setY, a.setYaw, b.setX, b.setY, b.setYaw
    distance = space.distance
    out = []
    append = out.append
    for (x0, y0, h0), (x1, y1, h1) in zip(starts, goals):
        ax(x0)
        ay(y0)
        ah(h0)
        bx(x1)
        by(y1)
        bh(h1)
        append(distance(a, b))
    return out


def agrifleet_loop(kind: str, starts: list[tuple[float, ...]], goals: list[tuple[float, ...]],
                   radius_m: float) -> list[float]:
    f = shortest
    return [f(s, g, radius_m, kind).length_m for s, g in zip(starts, goals)]


def kernel_loop(one: Callable, starts: list[tuple[float, ...]], goals: list[tuple[float, ...]],
                radius_m: float) -> list[float]:
    return [one(s, g, radius_m)[1] for s, g in zip(starts, goals)]


def run_kind(kind: str, starts: np.ndarray, goals: np.ndarray, args: argparse.Namespace) -> dict[str, Any]:
    from ompl import base as ob

    r = args.radius
    n = len(starts)
    s_list, g_list = starts.tolist(), goals.tolist()
    s_tup, g_tup = [tuple(p) for p in s_list], [tuple(p) for p in g_list]
    one = getattr(kernel("turns"), "dubins_one" if kind == "dubins" else "reeds_shepp_one")
    space = ob.DubinsStateSpace(r) if kind == "dubins" else ob.ReedsSheppStateSpace(r)

    ours = shortest_lengths(starts, goals, r, kind)[0]
    theirs = np.array(ompl_loop(space, s_list, g_list))
    single = np.array(agrifleet_loop(kind, s_tup[:1000], g_tup[:1000], r))
    rel = float(np.max(np.abs(ours - theirs) / np.maximum(theirs, 1e-300)))

    fns: dict[str, Callable[[], object]] = {
        "agrifleet batch": lambda: shortest_lengths(starts, goals, r, kind),
        "agrifleet single": lambda: agrifleet_loop(kind, s_tup, g_tup, r),
        "agrifleet kernel single": lambda: kernel_loop(one, s_tup, g_tup, r),
        "OMPL per call": lambda: ompl_loop(space, s_list, g_list),
    }
    m = min(args.rsplan_pairs, n)
    if kind == "reeds-shepp" and m > 0:
        from rsplan import planner

        pairs = list(zip(s_tup[:m], g_tup[:m]))
        fns["rsplan"] = lambda: [planner.path(s, g, r, 0.0, 0.1, length_tolerance=0.0) for s, g in pairs]
    times = median_times(fns, args.repeat)
    rows = {name: {"pairs": m if name == "rsplan" else n, "seconds": t,
                   "pairs_per_s": (m if name == "rsplan" else n) / t,
                   "us_per_pair": 1e6 * t / (m if name == "rsplan" else n)} for name, t in times.items()}
    result: dict[str, Any] = {
        "kind": kind, "rows": rows, "max_rel_diff_vs_ompl": rel,
        "single_equals_batch": bool(np.array_equal(single, ours[:1000])),
        "ratios": {
            "batch_vs_ompl": times["OMPL per call"] / times["agrifleet batch"],
            "single_vs_ompl": times["OMPL per call"] / times["agrifleet single"],
        },
    }
    if "rsplan" in rows:
        from rsplan import planner

        lengths = [planner.path(s, g, r, 0.0, 0.1, length_tolerance=0.0).total_length for s, g in pairs]
        diff = np.abs(np.array(lengths) - theirs[:m]) / theirs[:m]
        result["max_rel_diff_rsplan_vs_ompl"] = float(np.max(diff))
        rsplan_us = rows["rsplan"]["us_per_pair"]
        result["ratios"]["batch_vs_rsplan"] = rsplan_us / rows["agrifleet batch"]["us_per_pair"]
        result["ratios"]["single_vs_rsplan"] = (rows["rsplan"]["us_per_pair"]
                                                / rows["agrifleet single"]["us_per_pair"])
    return result


def machine_note() -> dict[str, Any]:
    import numpy

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        import importlib.metadata as md
        ompl_version = md.version("ompl")
        rsplan_version = md.version("rsplan")
    except Exception:  # noqa: BLE001 - informational only
        ompl_version = rsplan_version = "?"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {"cpu": cpu, "cores": os.cpu_count(), "load_1min": load, "python": platform.python_version(),
            "numpy": numpy.__version__, "ompl": ompl_version, "rsplan": rsplan_version,
            "date": time.strftime("%Y-%m-%d")}


def print_table(results: list[dict[str, Any]], machine: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"# turn curves, {args.pairs} random pairs in a {args.box:g} m box, radius {args.radius:g} m, "
          f"median of {args.repeat} ({machine['date']}, {machine['cpu']}, {machine['cores']} cores, "
          f"load {machine['load_1min']:.2f})")
    print("| kind | implementation | pairs | median time (s) | pairs/s | us/pair |")
    print("|---|---|---:|---:|---:|---:|")
    for res in results:
        for name, row in res["rows"].items():
            print(f"| {res['kind']} | {name} | {row['pairs']} | {row['seconds']:.4f} "
                  f"| {row['pairs_per_s']:,.0f} "
                  f"| {row['us_per_pair']:.3f} |")
    print()
    for res in results:
        ratios = ", ".join(f"{k} {v:.1f}x (target {TARGETS.get(k, float('nan')):g}x)" if k in TARGETS
                           else f"{k} {v:.1f}x" for k, v in res["ratios"].items())
        print(f"{res['kind']}: {ratios}; max rel. length diff vs OMPL {res['max_rel_diff_vs_ompl']:.2e}")
        if "max_rel_diff_rsplan_vs_ompl" in res:
            print(f"  (rsplan vs OMPL: max rel. length diff {res['max_rel_diff_rsplan_vs_ompl']:.2e})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=100_000)
    p.add_argument("--rsplan-pairs", type=int, default=300)
    p.add_argument("--radius", type=float, default=5.0)
    p.add_argument("--box", type=float, default=100.0)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--kinds", default="dubins,reeds-shepp")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    starts, goals = random_pairs(args.pairs, args.box, args.seed)
    results = [run_kind(kind, starts, goals, args) for kind in args.kinds.split(",")]
    machine = machine_note()
    if args.json:
        print(json.dumps({"machine": machine, "args": vars(args), "results": results}, indent=2))
    else:
        print_table(results, machine, args)
    ok = all(res["max_rel_diff_vs_ompl"] <= 1e-6 and res["single_equals_batch"] for res in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
