"""``agrifleet demo``: wall time of the default command as a user runs it, and what limits the speed factor.

Each repeat runs ``agrifleet demo --json --no-open`` in a fresh process and a fresh output folder (CLI start,
planning, dispatcher, agents, the work, shut-down, report), and reads the run's own figures back from
``report.json``. Prints medians over ``--repeats`` per speed factor, and for each speed factor its ratio to
the first one measured in the same run (wall time, and the simulated seconds of work per wall second the
run achieved; below the asked factor means the machine could not keep the pace). The figures that say
whether the pace hurt the vehicles: the tractor's cross-track RMS, ECU watchdog trips and the wall time
its ECU held the world for a late driver, and the coverage.

    python bench/demo.py [--repeats 3] [--speed-factors 50,100] [--json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def run_once(speed_factor: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="agrifleet-demo-bench-") as tmp:
        out = Path(tmp) / "demo"
        t0 = time.perf_counter()
        argv = [sys.executable, "-m", "agrifleet.core.cli", "demo", "--out", str(out), "--json", "--no-open",
                "--speed-factor", str(speed_factor)]
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        if not (out / "report.json").is_file():
            raise SystemExit(f"demo failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
        report = json.loads((out / "report.json").read_text())
    s, t, t1 = report["summary"], report["timings"], report["vehicles"]["t1"]
    ecu = t1["ecu"] or {}
    return {"command_wall_s": wall, "exit": proc.returncode, "completed": report["completed"],
            "plan_s": t["plan_s"], "startup_s": t["startup_s"], "work_wall_s": t["work_s"],
            "farm_work_s": s["work_s"], "achieved_speed_factor": s["achieved_speed_factor"],
            "coverage": s["coverage"], "tractor_xte_rms_m": t1["cross_track"]["rms_m"],
            "watchdog_trips": ecu.get("watchdog_trips"), "ecu_held_s": ecu.get("held_s")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--speed-factors", default="50", help="comma-separated, e.g. 50,100")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    factors = [float(k) for k in args.speed_factors.split(",")]
    results: dict[str, Any] = {}
    for k in factors:
        runs = [run_once(k) for _ in range(args.repeats)]
        keys = [k for k in runs[0] if k not in ("completed", "exit") and any(r[k] is not None for r in runs)]
        med = {key: statistics.median(r[key] for r in runs if r[key] is not None) for key in keys}
        med["completed"] = f"{sum(r['completed'] for r in runs)}/{len(runs)}"
        results[f"x{k:g}"] = {"median": med, "runs": runs}
    base = results[f"x{factors[0]:g}"]["median"]
    for entry in results.values():
        m = entry["median"]
        entry["ratio_to_first"] = {
            "command_wall_s": m["command_wall_s"] / base["command_wall_s"],
            "achieved_speed_factor": m["achieved_speed_factor"] / base["achieved_speed_factor"]}
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"agrifleet demo, medians of {args.repeats} (each a fresh process and output folder)")
    for name, entry in results.items():
        m, r = entry["median"], entry["ratio_to_first"]
        print(f"  {name:>5}: command {m['command_wall_s']:6.1f} s wall (plan {m['plan_s']:.1f}, start-up "
              f"{m['startup_s']:.1f}, work {m['work_wall_s']:.1f}), {m['farm_work_s'] / 60:5.1f} min of "
              f"farm work at x{m['achieved_speed_factor']:.1f}; coverage {100 * m['coverage']:.1f} %, tractor "
              f"cross-track {100 * m['tractor_xte_rms_m']:.1f} cm RMS, watchdog trips "
              f"{m.get('watchdog_trips', 'n/a')}, ECU held {m.get('ecu_held_s', 0):.1f} s; completed "
              f"{m['completed']}; ratio to the first: wall {r['command_wall_s']:.2f}, pace "
              f"{r['achieved_speed_factor']:.2f}")
        print("         runs: " + ", ".join(f"{x['command_wall_s']:.1f} s" for x in entry["runs"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
