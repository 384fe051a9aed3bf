"""``agrifleet plan``: plan a field file for one machine and write the plan, a map and the figures."""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from agrifleet.core.errors import ConfigError
from agrifleet.core.field import Field
from agrifleet.core.field_files import CRS_CHOICES, load_fields
from agrifleet.core.plan import Plan
from agrifleet.core.plan_io import OUT_CRS, write_plans

from .coverage import plan_field
from .params import CoverageParams

__all__ = ["PlanCommand", "add_planner_arguments", "params_from_args", "summarise"]


def _angle(text: str) -> float | None:
    if text.strip().lower() == "auto":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"angle {text!r} is not a number of degrees or 'auto'") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"angle {text!r} is not finite")
    return value


def add_planner_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """The coverage planner's options, shared by ``plan`` and ``job submit``."""
    g = parser.add_argument_group("coverage planner")
    g.add_argument("--implement", metavar="SPEC", default=None,
                   help="implement plugin spec, e.g. sprayer:boom_width_m=24,n_sections=4 (gives width and "
                        "sections; recorded in the plan so exports and drivers actuate it)")
    g.add_argument("--width", type=float, default=None, metavar="M",
                   help="working width (m); required unless --implement gives it")
    g.add_argument("--turn-radius", type=float, required=required, metavar="M", help="minimum turning radius (m)")
    g.add_argument("--headland-passes", type=int, default=2, metavar="N", help="headland passes (default 2)")
    g.add_argument("--angle", type=_angle, default=None, metavar="DEG|auto",
                   help="swath direction, degrees counter-clockwise from east, or auto (default)")
    g.add_argument("--objective", choices=("swaths", "length"), default="length",
                   help="what 'auto' minimises: number of swaths, or total path length with turns (default)")
    g.add_argument("--turns", choices=("dubins", "reeds-shepp"), default="dubins",
                   help="forward-only turns (dubins, default) or turns with reversing (reeds-shepp)")
    g.add_argument("--speed", type=float, default=2.5, metavar="M/S", help="working speed (default 2.5)")
    g.add_argument("--sections", type=int, default=None, metavar="N",
                   help="implement sections (default: the implement's, else 1)")
    g.add_argument("--margin", type=float, default=0.0, metavar="M",
                   help="keep the vehicle centre this far inside the boundary on turns (default 0)")


def implement_from_args(args: argparse.Namespace):
    """The implement named by ``--implement`` (``None`` without it); a bad spec is a one-line error."""
    spec = getattr(args, "implement", None)
    if not spec:
        return None
    from agrifleet.core.implement import build_implement

    return build_implement(spec)


def params_from_args(args: argparse.Namespace, implement=None) -> CoverageParams:
    width = args.width if args.width is not None else (implement.working_width_m if implement else None)
    if width is None:
        raise ConfigError("give --width (m) or an --implement that has a working width")
    sections = args.sections if args.sections is not None else (len(implement.sections) if implement else 1)
    return CoverageParams(width_m=width, turn_radius_m=args.turn_radius,
                          headland_passes=args.headland_passes, angle_deg=args.angle,
                          objective=args.objective, turns=args.turns, work_speed_mps=args.speed,
                          sections=sections, boundary_margin_m=args.margin)


def _figures(plan: Plan) -> dict[str, Any]:
    m = plan.metrics
    assert m is not None
    return {
        "field": plan.field_name,
        "plan_time_s": plan.meta.get("plan_time_s", math.nan),
        "n_swaths": m.n_swaths,
        "angle_deg": plan.meta.get("angle_deg"),
        "n_cells": plan.meta.get("n_cells", 0),
        "path_length_m": m.path_length_m,
        "working_length_m": m.working_length_m,
        "turn_length_m": m.turn_length_m,
        "transit_length_m": m.transit_length_m,
        "n_turns": m.n_turns,
        "headland_length_m": m.headland_length_m,
        "reverse_length_m": m.reverse_length_m,
        "duration_s": m.duration_s,
        "field_area_m2": m.field_area_m2,
        "coverage_ratio": m.coverage_ratio,
        "overlap_ratio": m.overlap_ratio,
        "boundary_violations": m.boundary_violations,
    }


def summarise(plans: Sequence[Plan]) -> dict[str, Any]:
    """Figures of one plan, or totals over several (coverage and overlap weighted by area)."""
    parts = [_figures(p) for p in plans]
    if len(parts) == 1:
        return parts[0]
    area = sum(p["field_area_m2"] for p in parts) or 1.0
    total: dict[str, Any] = {"fields": [p["field"] for p in parts]}
    for key in ("plan_time_s", "n_swaths", "n_cells", "path_length_m", "working_length_m", "turn_length_m",
                "transit_length_m", "n_turns", "headland_length_m", "reverse_length_m", "duration_s",
                "field_area_m2", "boundary_violations"):
        total[key] = sum(p[key] for p in parts)
    total["angle_deg"] = [p["angle_deg"] for p in parts]
    for key in ("coverage_ratio", "overlap_ratio"):
        total[key] = sum(p[key] * p["field_area_m2"] for p in parts) / area
    total["parts"] = parts
    return total


def plan_fields(fields: Sequence[Field], params: CoverageParams, progress: bool, implement: str = "") -> list[Plan]:
    from tqdm import tqdm

    bar = tqdm(fields, desc="planning", unit="field", disable=not progress or len(fields) < 2,
               file=sys.stderr, leave=False)
    return [plan_field(f, params, implement=implement) for f in bar]


class PlanCommand:
    name = "plan"
    help = "plan coverage of a field file for one machine"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("field", metavar="FIELD", help="GeoJSON, KML, Shapefile (.shp) or WKT field file")
        add_planner_arguments(parser)
        parser.add_argument("--crs", choices=CRS_CHOICES, default="auto",
                            help="coordinates of the file (default auto: lon/lat or local metres)")
        parser.add_argument("-o", "--output", metavar="PLAN", help="write the plan (.geojson or .msgpack)")
        parser.add_argument("--out-crs", choices=OUT_CRS, default="wgs84",
                            help="datum of GeoJSON output for geographic fields (gcj02/bd09 for Chinese web maps)")
        parser.add_argument("--map", metavar="PICTURE", help="draw the plan (.png or .svg)")
        parser.add_argument("--json", action="store_true", help="print one JSON object with the figures")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        if args.map and Path(args.map).suffix.lower() not in (".png", ".svg"):
            raise ConfigError(f"--map {args.map}: the picture must be .png or .svg")
        implement = implement_from_args(args)
        params = params_from_args(args, implement)
        fields = load_fields(args.field, args.crs)
        t0 = time.perf_counter()
        plans = plan_fields(fields, params, progress=not args.json and sys.stderr.isatty(),
                            implement=implement.to_spec() if implement else "")
        elapsed = time.perf_counter() - t0
        if args.output:
            write_plans(plans, args.output, out_crs=args.out_crs)
        if args.map:
            from .mapplot import draw_plans

            draw_plans(plans, args.map, fields=fields, title=Path(args.field).name)
        figures = summarise(plans)
        if args.json:
            print(json.dumps(figures, default=float))
            return 0
        print(f"planned {len(plans)} field(s) of {figures['field_area_m2'] / 1e4:.2f} ha in {elapsed:.2f} s")
        angles = figures["angle_deg"] if isinstance(figures["angle_deg"], list) else [figures["angle_deg"]]
        print(f"  swaths {figures['n_swaths']} at {', '.join(f'{a:.0f}°' for a in angles if a is not None)}, "
              f"turns {figures['n_turns']}")
        print(f"  path {figures['path_length_m'] / 1e3:.2f} km: working {figures['working_length_m'] / 1e3:.2f}, "
              f"headland {figures['headland_length_m'] / 1e3:.2f}, turns {figures['turn_length_m'] / 1e3:.2f}, "
              f"transit {figures['transit_length_m'] / 1e3:.2f} km")
        print(f"  coverage {100 * figures['coverage_ratio']:.2f} %, overlap {100 * figures['overlap_ratio']:.2f} %, "
              f"boundary violations {figures['boundary_violations']}")
        for target in (args.output, args.map):
            if target:
                print(f"  wrote {target}")
        return 0
