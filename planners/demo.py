"""``agrifleet demo`` (planning part): plan the bundled sample farm and write the plans and a map."""
from __future__ import annotations

import argparse
import json
from importlib.resources import files
from pathlib import Path

from agrifleet.core.field_files import load_fields
from agrifleet.core.plan_io import write_plans

from .cli import plan_fields, summarise
from .params import CoverageParams

__all__ = ["DemoCommand", "sample_farm_path"]


def sample_farm_path() -> Path:
    """The bundled sample farm (three fields with obstacles and a wet zone, WGS84)."""
    return Path(str(files("agrifleet.core") / "data" / "sample_farm.geojson"))


class DemoCommand:
    name = "demo"
    help = "plan the bundled sample farm and write the plans and a map picture"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--out", default="agrifleet-demo", metavar="DIR", help="output folder")
        parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        fields = load_fields(sample_farm_path())
        params = CoverageParams(width_m=6.0, turn_radius_m=5.0, headland_passes=2)
        plans = plan_fields(fields, params, progress=not args.json)
        write_plans(plans, out / "plans.geojson")
        write_plans(plans, out / "plans.msgpack")
        from .mapplot import draw_plans

        draw_plans(plans, out / "plans.png", fields=fields, title="agrifleet sample farm")
        figures = summarise(plans)
        (out / "figures.json").write_text(json.dumps(figures, indent=2, default=float))
        if args.json:
            print(json.dumps(figures, default=float))
        else:
            for part in figures["parts"]:
                print(f"{part['field']:<12} {part['field_area_m2'] / 1e4:6.2f} ha  {part['n_swaths']:3d} swaths  "
                      f"path {part['path_length_m'] / 1e3:6.2f} km  coverage {100 * part['coverage_ratio']:6.2f} %  "
                      f"violations {part['boundary_violations']}")
            print(f"wrote {out / 'plans.geojson'}, {out / 'plans.msgpack'}, {out / 'plans.png'}")
        return 0
