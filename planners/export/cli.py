"""``agrifleet export``: a plan file (what ``agrifleet plan`` writes) to QGC, WPL, KML, GeoJSON or ISOXML."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agrifleet.core.errors import ConfigError
from agrifleet.core.plan_io import read_plans

from . import EXPORTERS, export_plans
from ._common import (ARDUPILOT_SMALL_BOARD_ITEMS, ENDS, FIRMWARES, LIMIT_POLICIES, VEHICLES, ExportOptions,
                      parse_origin)

__all__ = ["ExportCommand"]

_BY_SUFFIX = {".plan": "qgc", ".waypoints": "wpl", ".wpl": "wpl", ".txt": "wpl", ".kml": "kml",
              ".geojson": "geojson", ".json": "geojson", ".xml": "isoxml", ".zip": "isoxml"}


class ExportCommand:
    name = "export"
    help = "export a plan file to QGroundControl, MAVLink waypoints, KML, GeoJSON or ISOXML TaskData"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("plan", metavar="PLAN", help="plan file written by 'agrifleet plan' (.geojson or .msgpack)")
        parser.add_argument("-f", "--format", choices=sorted(EXPORTERS),
                            help="output format (default: from the suffix of -o)")
        parser.add_argument("-o", "--output", required=True, metavar="FILE",
                            help="output file (isoxml: a folder, a .xml file or a .zip); several plans or mission "
                                 "parts add -<vehicle|n> and -part<k> to the name")
        parser.add_argument("--plan-index", type=int, action="append", metavar="N",
                            help="export only plan N of the file (1-based; repeat for several)")
        parser.add_argument("--origin", metavar="LAT,LON", help="geographic position of local x=0, y=0 for plans "
                                                                "in local metres")
        parser.add_argument("--implement", metavar="SPEC", help="implement to actuate, e.g. sprayer:section_"
                            "actuation=relay:1 (default: the plan's own; 'none' for no actuation)")
        parser.add_argument("--firmware", choices=FIRMWARES, default="ardupilot",
                            help="autopilot the mission is for (ArduPilot: home is item 0)")
        parser.add_argument("--vehicle", choices=VEHICLES, default="auto",
                            help="ground or air (auto: air when the plan flies above 0.5 m)")
        parser.add_argument("--tolerance-m", type=float, default=0.1,
                            help="largest distance of a plan sample from the exported route, m (default 0.1)")
        parser.add_argument("--max-items", type=int, default=ARDUPILOT_SMALL_BOARD_ITEMS,
                            help=f"mission items one file may hold, home included (default "
                                 f"{ARDUPILOT_SMALL_BOARD_ITEMS}: ArduPilot on 4 KiB-storage boards)")
        parser.add_argument("--on-limit", choices=LIMIT_POLICIES, default="split",
                            help="a mission over --max-items: split into parts (default), warn, or error")
        parser.add_argument("--end", choices=ENDS, default="auto",
                            help="after the last waypoint (auto: RTL for drones, LAND per sortie, none for ground)")
        parser.add_argument("--takeoff-alt-m", type=float, help="drone takeoff height (default: the first sample's)")
        parser.add_argument("--acceptance-radius-m", type=float, default=0.0,
                            help="waypoint acceptance radius (0 = the autopilot's default)")
        parser.add_argument("--fence-margin-m", type=float, default=5.0, help="QGC geofence margin around the field")
        parser.add_argument("--no-per-sortie", action="store_true",
                            help="one mission for the whole plan even when it has sorties")
        parser.add_argument("--customer", default="agrifleet", help="ISOXML customer name")
        parser.add_argument("--farm", default="farm", help="ISOXML farm name")
        parser.add_argument("--out-crs", choices=("wgs84", "gcj02", "bd09"), default="wgs84",
                            help="GeoJSON coordinates (gcj02/bd09 for Chinese web maps)")
        parser.add_argument("--json", action="store_true", help="print the result as one JSON object")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        target = Path(args.output)
        fmt = args.format or _BY_SUFFIX.get(target.suffix.lower())
        if fmt is None:
            raise ConfigError(f"-o {args.output}: cannot tell the format from the suffix {target.suffix or '(none)'!r};"
                              f" give --format ({', '.join(sorted(EXPORTERS))})")
        options = ExportOptions(
            origin=parse_origin(args.origin) if args.origin else None, implement=args.implement,
            firmware=args.firmware, vehicle=args.vehicle, tolerance_m=args.tolerance_m, max_items=args.max_items,
            on_limit=args.on_limit, end=args.end, takeoff_alt_m=args.takeoff_alt_m,
            acceptance_radius_m=args.acceptance_radius_m, fence_margin_m=args.fence_margin_m,
            per_sortie=not args.no_per_sortie, customer=args.customer, farm=args.farm, out_crs=args.out_crs)
        plans = read_plans(args.plan)
        if args.plan_index:
            bad = [n for n in args.plan_index if not 1 <= n <= len(plans)]
            if bad:
                raise ConfigError(f"--plan-index {bad[0]}: {args.plan} holds {len(plans)} plan(s)")
            plans = [plans[n - 1] for n in args.plan_index]
        result = export_plans(plans, fmt, target, options)
        if args.json:
            print(json.dumps({"format": fmt, "files": [str(f) for f in result.files], "warnings": result.warnings,
                              "details": result.details}, indent=2))
        else:
            for d in result.details:
                print(f"wrote {d['file']} ({_figures(d)})")
            for w in result.warnings:
                print(f"agrifleet export: warning: {w}", file=sys.stderr)
        return 0


def _figures(d: dict[str, Any]) -> str:
    skip = {"file"}
    return ", ".join(f"{k} {'-'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in d.items() if k not in skip)
