#!/usr/bin/env python3
"""Coverage planning benchmark: agrifleet beside Fields2Cover 2.1 on the six benchmark fields.

Plans every field of ../shared/bench/fields with the reference parameters (width 6 m, turning radius 5 m,
2 headland passes, angle search) with Dubins and with Reeds-Shepp turns, and with a second configuration
(width 24 m, radius 8 m, 1 pass). Fields2Cover cannot be installed here; its figures come from
../shared/bench/FIELDS2COVER_REFERENCE.md (measured with f2c_baseline.py on a machine of the same kind).

Compared, per field:
- planning time (median of ``--repeats``) against Fields2Cover's *best valid* plan: the shortest of its
  configurations that stays inside the field (target: <= 0.1 x);
- path length without the headland passes (agrifleet drives them; Fields2Cover plans none) against the
  shortest valid Fields2Cover plan of the same turn type (target: <=);
- coverage of the inner field (target >= 99.5 %), overlap, and path outside the field (target 0).

    python bench/coverage.py [--repeats 5] [--json] [--fields DIR]
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

from agrifleet.core.field_files import load_fields
from agrifleet.planners.coverage import plan_field
from agrifleet.planners.metrics import measure, outside_length_m
from agrifleet.planners.params import CoverageParams
from _timing import median_time

SHARED = Path(__file__).resolve().parents[2] / "shared" / "bench"
FIELDS = ("rect_200x100", "rect_1000x500", "pentagon_10ha", "l_shape_20ha", "holes_30ha", "u_inlet_15ha")
CONFIGS = {
    "w6 r5 hl2 dubins": dict(width_m=6.0, turn_radius_m=5.0, headland_passes=2, turns="dubins"),
    "w6 r5 hl2 reeds-shepp": dict(width_m=6.0, turn_radius_m=5.0, headland_passes=2, turns="reeds-shepp"),
    "w24 r8 hl1 dubins": dict(width_m=24.0, turn_radius_m=8.0, headland_passes=1, turns="dubins"),
}


def read_reference(path: Path) -> dict[str, list[dict]]:
    """Rows of the Fields2Cover table, per field."""
    rows: dict[str, list[dict]] = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 10 or not re.match(r"^\d", cells[2]):
            continue
        field, config = cells[0], cells[1]
        rows.setdefault(field, []).append({
            "config": config, "time_s": float(cells[2]), "swaths": int(cells[3]), "path_km": float(cells[5]),
            "turn_km": float(cells[6]), "coverage": float(cells[8]), "outside_m": float(cells[9]),
            "reeds_shepp": "reeds-shepp" in config})
    return rows


def best_valid(rows: list[dict], reeds_shepp: bool | None = None) -> dict | None:
    valid = [r for r in rows if r["outside_m"] == 0 and (reeds_shepp is None or r["reeds_shepp"] == reeds_shepp)]
    return min(valid, key=lambda r: r["path_km"]) if valid else None


def run_one(field, params: CoverageParams, repeats: int) -> dict:
    plan_field(field, params, with_metrics=False)  # warm caches (imports, kernels)
    t_plan, plan = median_time(lambda: plan_field(field, params, with_metrics=False), repeats)
    m = measure(plan, plan.meta["headland_passes"])
    no_headland = m.path_length_m - m.headland_length_m - plan.meta["headland_transit_m"]
    return {"time_s": t_plan, "n_swaths": m.n_swaths, "angle_deg": plan.meta["angle_deg"],
            "path_km": m.path_length_m / 1e3, "no_headland_km": no_headland / 1e3,
            "turn_km": m.turn_length_m / 1e3, "coverage": m.coverage_ratio, "overlap": m.overlap_ratio,
            "violations": m.boundary_violations, "outside_m": outside_length_m(plan, field.boundary)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fields", type=Path, default=SHARED / "fields")
    ap.add_argument("--reference", type=Path, default=SHARED / "FIELDS2COVER_REFERENCE.md")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    if not args.fields.is_dir():
        print(f"no benchmark fields at {args.fields} (../shared/bench/fields)", file=sys.stderr)
        return 2
    reference = read_reference(args.reference) if args.reference.exists() else {}
    results = []
    for name in FIELDS:
        field = load_fields(args.fields / f"{name}.geojson")[0]
        for config, values in CONFIGS.items():
            ours = run_one(field, CoverageParams(**values), args.repeats)
            row = {"field": name, "config": config, **ours}
            ref_rows = reference.get(name, [])
            if config.startswith("w6") and ref_rows:
                best = best_valid(ref_rows)
                same = best_valid(ref_rows, values["turns"] == "reeds-shepp")
                row["f2c_best_valid"] = best
                row["f2c_same_turns"] = same
                row["time_ratio"] = ours["time_s"] / best["time_s"] if best else None
                row["length_ratio_same_turns"] = ours["no_headland_km"] / same["path_km"] if same else None
                row["length_ratio_best"] = ours["no_headland_km"] / best["path_km"] if best else None
            results.append(row)
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print(f"{'field':<14} {'config':<22} {'time ms':>8} {'x F2C':>6} {'swaths':>6} {'angle':>5} "
          f"{'no-hl km':>8} {'F2C km':>7} {'ratio':>6} {'turn km':>7} {'cover %':>7} {'overlap %':>9} "
          f"{'outside m':>9}")
    for r in results:
        same = r.get("f2c_same_turns")
        print(f"{r['field']:<14} {r['config']:<22} {1e3 * r['time_s']:8.1f} "
              f"{(r.get('time_ratio') or float('nan')):6.3f} {r['n_swaths']:6d} {r['angle_deg']:5.0f} "
              f"{r['no_headland_km']:8.2f} {(same['path_km'] if same else float('nan')):7.2f} "
              f"{(r.get('length_ratio_same_turns') or float('nan')):6.3f} {r['turn_km']:7.2f} "
              f"{100 * r['coverage']:7.2f} {100 * r['overlap']:9.3f} {r['outside_m']:9.1f}")
    print("x F2C: planning time / Fields2Cover's best valid plan's time (target <= 0.1); ratio: path without "
          "headland passes / Fields2Cover's shortest valid plan with the same turn type (target <= 1).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
