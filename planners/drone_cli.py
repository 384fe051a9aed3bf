"""``agrifleet survey`` (a drone's flight over a field, in sorties) and ``agrifleet plan-job`` (one job shared
by tractors and drones). Both print the figures (``--json`` for scripts), write plans and draw maps."""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from agrifleet.core.errors import ConfigError
from agrifleet.core.field import Field
from agrifleet.core.field_files import CRS_CHOICES, load_fields
from agrifleet.core.plan import Plan
from agrifleet.core.plan_io import OUT_CRS, write_plans
from agrifleet.core.vehicle import VehicleSpec

__all__ = ["PlanJobCommand", "SurveyCommand", "parse_vehicles", "parse_xy"]


def _examples() -> dict[str, VehicleSpec]:
    from agrifleet.sim.vehicles import EXAMPLE_DRONE, EXAMPLE_ROVER, EXAMPLE_TRACTOR

    return {"tractor": EXAMPLE_TRACTOR, "rover": EXAMPLE_ROVER, "drone": EXAMPLE_DRONE,
            "multirotor": EXAMPLE_DRONE}


def parse_vehicles(text: str) -> list[VehicleSpec]:
    """``KIND[:key=value,...]`` -> vehicles: KIND is an example machine (tractor, rover, drone) whose
    VehicleSpec fields the keys override; ``count=N`` makes N of them (named NAME-1..N)."""
    kind, _, rest = text.strip().partition(":")
    examples = _examples()
    if kind not in examples:
        raise ConfigError(f"vehicle {text!r}: {kind!r} is not one of {', '.join(examples)}")
    base = examples[kind]
    fields = {f.name: f for f in dataclasses.fields(VehicleSpec)}
    values: dict[str, Any] = {}
    count = 1
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq:
            raise ConfigError(f"vehicle {text!r}: {item!r} is not key=value")
        if key == "count":
            if not value.strip().isdigit() or int(value) < 1:
                raise ConfigError(f"vehicle {text!r}: count = {value!r} must be a whole number >= 1")
            count = int(value)
        elif key == "name":
            values["name"] = value.strip()
        elif key == "capabilities":
            values["capabilities"] = frozenset(value.replace("+", " ").split())
        elif key == "reverse_allowed":
            values[key] = value.strip().lower() in ("1", "true", "yes")
        elif key in fields and key != "kind":
            try:
                values[key] = float(value)
            except ValueError:
                raise ConfigError(f"vehicle {text!r}: {key} = {value!r} is not a number") from None
        else:
            raise ConfigError(f"vehicle {text!r}: unknown key {key!r} (known: count, "
                              f"{', '.join(k for k in fields if k != 'kind')})")
    name = values.pop("name", kind)
    spec = dataclasses.replace(base, **values)
    if count == 1:
        return [dataclasses.replace(spec, name=name)]
    return [dataclasses.replace(spec, name=f"{name}-{k}") for k in range(1, count + 1)]


def parse_xy(text: str, what: str = "depot") -> tuple[float, float]:
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    try:
        x, y = (float(p) for p in parts)
    except ValueError:
        raise ConfigError(f"{what} {text!r} is not two numbers X,Y") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ConfigError(f"{what} {text!r} is not finite")
    return x, y


def _depots(args: argparse.Namespace, fld: Field) -> tuple[tuple[float, float], ...]:
    out = [parse_xy(t) for t in args.depot or ()]
    for t in args.depot_lonlat or ():
        if fld.frame is None:
            raise ConfigError(f"--depot-lonlat {t}: the field file is in local metres; use --depot X,Y")
        out.append(tuple(float(v) for v in fld.frame.to_local(np.array([parse_xy(t, "depot")]))[0]))
    return tuple(out)


def _one_field(path: str, crs: str, name: str | None) -> Field:
    fields = load_fields(path, crs)
    if name is not None:
        match = [f for f in fields if f.name == name]
        if not match:
            known = ", ".join(f.name for f in fields)
            raise ConfigError(f"{path}: no field named {name!r} (fields: {known})")
        return match[0]
    if len(fields) > 1:
        raise ConfigError(f"{path} holds {len(fields)} fields ({', '.join(f.name for f in fields)}); "
                          "choose one with --field NAME")
    return fields[0]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("field", metavar="FIELD", help="GeoJSON, KML, Shapefile (.shp) or WKT field file")
    parser.add_argument("--field", dest="field_name", metavar="NAME",
                        help="the field to plan, when the file has several")
    parser.add_argument("--crs", choices=CRS_CHOICES, default="auto",
                        help="coordinates of the file (default auto)")
    parser.add_argument("--depot", action="append", metavar="X,Y",
                        help="refill/landing point in the field's local metres, repeatable "
                             "(write --depot=-20,5 when X < 0)")
    parser.add_argument("--depot-lonlat", action="append", metavar="LON,LAT", help="refill point in WGS84")
    parser.add_argument("--turnaround", choices=("zero", "arc"), default="zero",
                        help="zero: stop and side-step inside the field (default); "
                             "arc: half circle beyond the line")
    parser.add_argument("--obstacles", choices=("avoid", "overfly"), default="avoid",
                        help="fly round the field's obstacles (default) or over them with the implement off")
    parser.add_argument("--reserve", type=float, default=0.2, metavar="F",
                        help="battery share kept back (0.2)")
    parser.add_argument("--refill-time", type=float, default=120.0, metavar="S",
                        help="time on the ground between sorties (120 s)")
    parser.add_argument("--map", metavar="PICTURE", help="draw the plans (.png or .svg)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the figures")


def _check_map(args: argparse.Namespace) -> None:
    if args.map and Path(args.map).suffix.lower() not in (".png", ".svg"):
        raise ConfigError(f"--map {args.map}: the picture must be .png or .svg")


def _draw(plans: Sequence[Plan], fld: Field, args: argparse.Namespace) -> None:
    if args.map:
        from .mapplot import draw_plans

        draw_plans(plans, args.map, fields=[fld], title=f"{fld.name}: {', '.join(p.vehicle for p in plans)}")


def _terrain(path: str | None) -> Any:
    if not path:
        return None
    from agrifleet.sim.world import HeightMap

    try:
        with np.load(path) as data:
            origin = tuple(float(v) for v in data["origin_xy"])
            return HeightMap(data["heights_m"], origin, float(data["cell_m"]))
    except (OSError, KeyError, ValueError) as exc:
        raise ConfigError(f"--terrain {path}: not an .npz with heights_m, origin_xy and cell_m ({exc})"
                          ) from None


class SurveyCommand:
    name = "survey"
    help = "plan a drone's survey or spray flight over a field, in sorties when depots are given"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        _common(parser)
        parser.add_argument("--implement", required=True, metavar="SPEC",
                            help="drone implement, e.g. camera:altitude_m=80 or "
                                 "sprayer:platform=air,boom_width_m=7")
        parser.add_argument("--vehicle", default="drone", metavar="SPEC",
                            help="drone[:key=value,...] (default drone)")
        parser.add_argument("--altitude", type=float, metavar="M",
                            help="height above ground (a camera's sets the GSD)")
        parser.add_argument("--speed", type=float, metavar="M/S",
                            help="working speed (default: vehicle and implement)")
        parser.add_argument("--angle", type=float, metavar="DEG",
                            help="line direction, degrees CCW from east (auto)")
        parser.add_argument("--margin", type=float, default=0.0, metavar="M",
                            help="keep this far inside the field")
        parser.add_argument("--tank", type=float, metavar="L", help="tank volume (default: the vehicle's)")
        parser.add_argument("--battery", type=float, metavar="WH",
                            help="battery energy (default: the vehicle's)")
        parser.add_argument("--terrain", metavar="NPZ",
                            help="height map (.npz: heights_m, origin_xy, cell_m)")
        parser.add_argument("-o", "--output", metavar="PLAN", help="write the plan (.geojson or .msgpack)")
        parser.add_argument("--out-crs", choices=OUT_CRS, default="wgs84", help="datum of GeoJSON output")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from .sorties import SortieParams, split_sorties
        from .survey import plan_survey, survey_params, swath_from_implement

        _check_map(args)
        fld = _one_field(args.field, args.crs, args.field_name)
        (drone,) = parse_vehicles(args.vehicle)[:1]
        if drone.kind.is_ground:
            raise ConfigError(f"--vehicle {args.vehicle}: a survey is flown by a drone, "
                              f"not a {drone.kind.value}")
        limits = {"tank_l": args.tank, "battery_wh": args.battery}
        drone = dataclasses.replace(drone, **{k: v for k, v in limits.items() if v is not None})
        sw = swath_from_implement(args.implement, args.altitude)
        params = survey_params(sw, drone, altitude_m=args.altitude, speed_mps=args.speed,
                               angle_deg=args.angle, turnaround=args.turnaround, obstacles=args.obstacles,
                               margin_m=args.margin)
        extra = {"gsd_m": sw.gsd_m, "footprint_m": list(sw.footprint_m)} if sw.gsd_m is not None else {}
        spec = sw.implement.to_spec()
        plan = plan_survey(fld, params, terrain=_terrain(args.terrain), implement=spec, vehicle=drone.name,
                           meta=extra)
        depots = _depots(args, fld)
        if depots:
            plan = split_sorties(plan, drone, SortieParams(depots, reserve=args.reserve,
                                                           service_time_s=args.refill_time))
        if args.output:
            write_plans([plan], args.output, out_crs=args.out_crs)
        _draw([plan], fld, args)
        fig = _survey_figures(plan)
        if args.json:
            print(json.dumps(fig, default=float))
            return 0
        print(f"{fld.name}: {fig['work_area_ha']:.2f} ha, swath {plan.width_m:.2f} m at "
              f"{params.altitude_m:g} m, "
              f"{fig['n_swaths']} lines at {fig['angle_deg']:.0f}°, speed {params.speed_mps:.2f} m/s"
              + (f", GSD {100 * fig['gsd_m']:.2f} cm" if fig.get("gsd_m") else ""))
        print(f"  coverage {100 * fig['coverage_ratio']:.2f} %, path {fig['path_length_m'] / 1e3:.2f} km, "
              f"planned in {fig['plan_time_s']:.2f} s")
        if depots:
            print(f"  {fig['n_sorties']} sorties, flight {fig['flight_time_s'] / 60:.1f} min, job "
                  f"{fig['job_time_s'] / 60:.1f} min with refills, {fig['payload_l']:.1f} l")
        for target in (args.output, args.map):
            if target:
                print(f"  wrote {target}")
        return 0


def _survey_figures(plan: Plan) -> dict[str, Any]:
    m = plan.metrics
    assert m is not None
    meta = plan.meta
    out = {"field": plan.field_name, "work_area_ha": meta.get("work_area_m2", 0.0) / 1e4,
           "width_m": plan.width_m,
           "angle_deg": meta.get("angle_deg"), "n_swaths": m.n_swaths, "path_length_m": m.path_length_m,
           "working_length_m": m.working_length_m, "coverage_ratio": m.coverage_ratio,
           "overlap_ratio": m.overlap_ratio, "boundary_violations": m.boundary_violations,
           "duration_s": m.duration_s, "plan_time_s": meta.get("plan_time_s"), "gsd_m": meta.get("gsd_m"),
           "footprint_m": meta.get("footprint_m"), "terrain_following": meta.get("terrain_following", False),
           "height_m": [float(plan.path["z"].min()), float(plan.path["z"].max())] if len(plan) else None}
    if plan.sorties:
        out.update({"n_sorties": len(plan.sorties), "flight_time_s": meta.get("flight_time_s"),
                    "job_time_s": meta.get("job_time_s"), "payload_l": sum(s.payload_l for s in plan.sorties),
                    "sorties": [s.to_dict() for s in plan.sorties]})
    return out


def _vehicle_list(args: argparse.Namespace) -> list[VehicleSpec]:
    out: list[VehicleSpec] = []
    for text in args.vehicles or ():
        for item in filter(None, (p.strip() for p in text.split(","))):
            kind, _, n = item.partition("*")
            out.extend(parse_vehicles(f"{kind}:count={n}" if n else kind))
    for text in args.vehicle or ():
        out.extend(parse_vehicles(text))
    names = [v.name for v in out]
    if not out:
        raise ConfigError("plan-job: give the vehicles (--vehicles tractor,drone*4 or --vehicle SPEC)")
    if len(set(names)) != len(names):  # plain kinds repeat: number them per kind
        seen: dict[str, int] = {}
        renamed = []
        for v in out:
            seen[v.name] = seen.get(v.name, 0) + 1
            twin = names.count(v.name) > 1
            renamed.append(dataclasses.replace(v, name=f"{v.name}-{seen[v.name]}") if twin else v)
        out = renamed
    return out


class PlanJobCommand:
    name = "plan-job"
    help = "plan one job for several tractors and drones: zones by suitability, finish times balanced"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        _common(parser)
        parser.add_argument("--vehicles", action="append", metavar="KIND[*N],...",
                            help="example machines, e.g. tractor,drone*4")
        parser.add_argument("--vehicle", action="append", metavar="SPEC",
                            help="one vehicle KIND[:key=value,...], e.g. drone:name=d1,tank_l=30 "
                                 "(repeatable)")
        parser.add_argument("--ground-implement", default="", metavar="SPEC", help="what the tractors carry")
        parser.add_argument("--air-implement", default="", metavar="SPEC", help="what the drones carry")
        parser.add_argument("--headland-passes", type=int, default=2, metavar="N",
                            help="tractor headland passes (2)")
        parser.add_argument("--tolerance", type=float, default=0.05, metavar="F",
                            help="finish times may differ by this share (0.05)")
        parser.add_argument("-o", "--output", metavar="DIR", help="write one plan file per vehicle into DIR")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from .partition import JobParams, plan_job

        _check_map(args)
        fld = _one_field(args.field, args.crs, args.field_name)
        vehicles = _vehicle_list(args)
        params = JobParams(ground_implement=args.ground_implement, air_implement=args.air_implement,
                           depots=_depots(args, fld), headland_passes=args.headland_passes,
                           turnaround=args.turnaround, obstacles=args.obstacles, reserve=args.reserve,
                           service_time_s=args.refill_time, tolerance=args.tolerance)
        job = plan_job(fld, vehicles, params)
        plans = list(job.plans.values())
        if args.output:
            out = Path(args.output)
            out.mkdir(parents=True, exist_ok=True)
            for plan in plans:
                write_plans([plan], out / f"{plan.vehicle}.msgpack")
            write_plans(plans, out / "job.geojson")
            (out / "figures.json").write_text(json.dumps(job.figures(), indent=2, default=float))
        _draw(plans, fld, args)
        fig = job.figures()
        if args.json:
            print(json.dumps(fig, default=float))
            return 0
        print(f"{fld.name}: {fld.area_m2 / 1e4:.2f} ha for {len(vehicles)} vehicles, planned in "
              f"{job.plan_time_s:.1f} s; ground {job.ground_area_m2 / 1e4:.2f} ha, "
              f"air {job.air_area_m2 / 1e4:.2f} ha"
              + (f", unworked {job.unworked_area_m2 / 1e4:.2f} ha" if job.unworked_area_m2 > 1 else ""))
        for name, v in fig["vehicles"].items():
            print(f"  {name:<12} {v['role'] or '-':<7} finishes after {v['finish_s'] / 60:7.1f} min"
                  + (f"  ({v['sorties']} sorties)" if v["sorties"] else ""))
        print(f"  finish times within {100 * job.spread:.1f} %")
        for note in job.notes:
            print(f"  note: {note}", file=sys.stderr)
        for target in (args.output, args.map):
            if target:
                print(f"  wrote {target}")
        return 0
