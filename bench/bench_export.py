"""Export speed and waypoint economy on a large plan; medians of repeated runs, ratios against peers.

Peers measured in the same run: GEOS Douglas-Peucker (``shapely.simplify``) for the decimation, pymavlink's
``MAVWPLoader`` reading the WPL file back, ``json`` reading the QGC file back. Run:
``python bench/bench_export.py [--swaths 40] [--length 400] [--step 0.5] [--repeat 5]``.
"""
from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

from agrifleet.core.geo import LocalFrame
from agrifleet.core.plan import Plan, SegmentKind, make_path
from agrifleet.planners.export import ExportOptions, export_plans
from agrifleet.planners.export._decimate import decimate
from _timing import median_time


def field_plan(n_swaths: int, length_m: float, step_m: float, width_m: float = 12.0) -> Plan:
    """A boustrophedon with slightly wavy passes (contour-following) and half-circle turns."""
    parts = []
    for k in range(n_swaths):
        x = np.arange(0.0, length_m + step_m / 2, step_m)
        y = k * width_m + 0.4 * np.sin(x / 35.0)
        if k % 2:
            x, y = x[::-1], y[::-1]
        parts.append(make_path(np.column_stack([x, y]), kind=SegmentKind.SWATH, speed_mps=2.8, sections=0xFF,
                               swath=k))
        if k < n_swaths - 1:
            side = 1.0 if k % 2 == 0 else -1.0
            ang = np.linspace(-math.pi / 2, math.pi / 2, int(math.pi * width_m / 2 / step_m))[1:-1]
            parts.append(make_path(np.column_stack([x[-1] + side * width_m / 2 * np.cos(ang),
                                                    y[-1] + width_m / 2 + width_m / 2 * np.sin(ang)]),
                                   kind=SegmentKind.TURN, speed_mps=1.5))
    top = n_swaths * width_m
    return Plan(path=np.concatenate(parts), frame=LocalFrame(52.0, 5.0),
                boundary=Polygon([(-15, -10), (length_m + 15, -10), (length_m + 15, top), (-15, top)]),
                field_name="bench", implement="sprayer:n_sections=8,section_actuation=relay:1", vehicle="t1")


def median_s(fn: Callable[[], object], repeat: int) -> float:
    return median_time(fn, repeat)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--swaths", type=int, default=40)
    ap.add_argument("--length", type=float, default=400.0)
    ap.add_argument("--step", type=float, default=0.5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--tolerance", type=float, default=0.1)
    args = ap.parse_args()
    plan = field_plan(args.swaths, args.length, args.step)
    n = len(plan.path)
    print(f"plan: {n} samples, {plan.metrics.path_length_m / 1000:.1f} km, tolerance {args.tolerance} m, "
          f"median of {args.repeat}")

    keep = decimate(plan.path, args.tolerance)
    line = LineString(plan.xy)
    t_ours = median_s(lambda: decimate(plan.path, args.tolerance), args.repeat)
    t_geos = median_s(lambda: shapely.simplify(line, args.tolerance, preserve_topology=False), args.repeat)
    geos_pts = len(shapely.get_coordinates(shapely.simplify(line, args.tolerance, preserve_topology=False)))
    print(f"decimate        {t_ours * 1e3:8.1f} ms  {len(keep):6d} waypoints ({n / len(keep):.0f}x fewer)")
    print(f"shapely.simplify{t_geos * 1e3:8.1f} ms  {geos_pts:6d} points (GEOS DP, no break points)  "
          f"ratio ours/GEOS {t_ours / t_geos:.2f}")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        options = ExportOptions(max_items=65535)
        for fmt, name in (("qgc", "m.plan"), ("wpl", "m.waypoints"), ("kml", "m.kml"), ("geojson", "m.geojson"),
                          ("isoxml", "TASKDATA")):
            target = out / name
            t = median_s(lambda: export_plans([plan], fmt, target, options), args.repeat)
            result = export_plans([plan], fmt, target, options)
            size = sum(f.stat().st_size for f in result.files)
            extra = f", {result.details[0]['items']} items" if "items" in result.details[0] else ""
            print(f"export {fmt:<8} {t * 1e3:8.1f} ms  {size / 1e6:7.2f} MB{extra}  ({n / t / 1e3:.0f}k samples/s)")
        from pymavlink import mavwp

        t_load = median_s(lambda: mavwp.MAVWPLoader().load(str(out / "m.waypoints")), args.repeat)
        t_json = median_s(lambda: json.loads((out / "m.plan").read_text()), args.repeat)
        print(f"peer read: MAVWPLoader.load {t_load * 1e3:.1f} ms, json.loads(.plan) {t_json * 1e3:.1f} ms")
        limited = export_plans([plan], "wpl", out / "s.waypoints", ExportOptions())
        print(f"ArduPilot 724-item limit: {len(limited.files)} mission files "
              f"({', '.join(str(d['items']) for d in limited.details)} items)")


if __name__ == "__main__":
    main()
