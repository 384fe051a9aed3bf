"""Scenario files: a farm, a fleet, its jobs, the faults to throw at it, and what counts as success.

A scenario is a TOML file (read with the standard library's ``tomllib``)::

    name = "two tractors, one breaks down"
    seed = 1                                   # default seed; `agrifleet sim run --seed` overrides it

    [world]                                    # optional
    dt_s = 0.05                                # physics step
    origin = [52.0, 5.0]                       # lat, lon of local metres (else from a WGS84 field file)
    wind = { speed_mps = 3.0, towards_deg = 45.0, gust_sigma_mps = 0.5 }

    [run]                                      # optional
    time_limit_s = 1800                        # the trial stops here if the work is not done

    [[fields]]                                 # a file (relative to this one) or an inline polygon
    name = "north"
    polygon = [[0, 0], [120, 0], [120, 60], [0, 60]]   # local metres; or polygon_wgs84 = [[lon, lat], ...]
    holes = [[[50, 20], [60, 20], [60, 30], [50, 30]]] # obstacles (optional)
    # file = "fields/north.geojson"; crs = "auto"; feature = "North"

    [[fleet]]
    id = "t1"
    kind = "tractor"                           # tractor | rover | multirotor
    implement = "sprayer:boom_width_m=12,n_sections=4"
    driver = "sim"                             # sim | tractor | mavlink
    spec = { work_speed_mps = 3.0 }            # VehicleSpec overrides of the kind's example machine
    start = [10.0, -15.0, 90.0]                # x, y (m), heading (degrees CCW from east)
    gnss = "rtk_fixed"                         # rtk_fixed | rtk_float | single
    options = { autopilot = "px4" }            # driver options (mavlink: the autopilot's personality)

    [[jobs]]
    field = "north"
    vehicles = ["t1", "t2"]
    planner = "job"                            # a planner plugin (default: as `agrifleet job submit`)
    params = { headland_passes = 2, angle_deg = 90 }   # `depots = [[x, y], ...]` also serve vehicles
    start_s = 0                                # when the job is handed to the fleet

    [[faults]]
    at_s = 120
    vehicle = "t1"
    kind = "vehicle_failure"                   # | gnss (quality, duration_s) | link_loss (duration_s)
                                               # | wind_gust (duration_s, speed_mps, towards_deg)
    [criteria]
    coverage_min = 0.97
    overlap_max = 0.15
    cross_track_rms_max_m = 0.10
    no_geofence_breach = true
    done_within_s = 900

Every value is checked when the file is loaded; a bad one raises :class:`ScenarioError` naming the file,
the key path and the problem (``fleet[2].spec.wheelbase_m: must be > 0, got -1``), and so does a key that
is not part of the schema. The faults and the per-section tables live in :mod:`._scenario_parts`.
"""
from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agrifleet.core.errors import AgrifleetError, ScenarioError
from agrifleet.core.field import Field
from agrifleet.core.geo import LocalFrame
from agrifleet.core.vehicle import VehicleSpec
from agrifleet.sim.world import Wind

from ._scenario_fields import FieldEntry, read_fields
from ._scenario_parts import (
    DRIVERS,
    GNSS_QUALITIES,
    KINDS,
    Criteria,
    Fault,
    GnssFault,
    LinkLoss,
    RunSpec,
    VehicleFailure,
    WindGust,
    read_criteria,
    read_fault,
    read_run,
    read_spec,
    read_wind,
)
from ._toml_node import Node, fail

__all__ = [
    "DRIVERS",
    "KINDS",
    "Criteria",
    "Fault",
    "FieldEntry",
    "GnssFault",
    "JobEntry",
    "LinkLoss",
    "RunSpec",
    "Scenario",
    "VehicleEntry",
    "VehicleFailure",
    "WindGust",
    "WorldSpec",
    "load_scenario",
    "parse_scenario",
]


@dataclass(frozen=True, slots=True)
class WorldSpec:
    dt_s: float = 0.05
    wind: Wind = field(default_factory=Wind)
    frame: LocalFrame | None = None


@dataclass(frozen=True, slots=True)
class VehicleEntry:
    """One machine of the fleet: what it is, what it carries, how it is driven and where it starts."""

    id: str
    kind: str
    spec: VehicleSpec
    implement: str
    driver: str
    start: tuple[float, float, float] | None   # x, y (m), heading (rad); None = lined up by the runner
    gnss: str = "rtk_fixed"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JobEntry:
    """A job handed to the fleet at ``start_s``: a field, the vehicles sharing it, the planner and params."""

    name: str
    field: str
    vehicles: tuple[str, ...]
    implement: str
    planner: str = ""            # a planner plugin; "" = the fleet manager plans it (as `job submit` does)
    params: Mapping[str, Any] = field(default_factory=dict)
    start_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    source: str
    seed: int
    world: WorldSpec
    run: RunSpec
    fields: tuple[FieldEntry, ...]
    fleet: tuple[VehicleEntry, ...]
    jobs: tuple[JobEntry, ...]
    faults: tuple[Fault, ...]
    criteria: Criteria
    description: str = ""

    def field(self, name: str) -> Field:
        return next(f.field for f in self.fields if f.name == name)

    def vehicle(self, vehicle_id: str) -> VehicleEntry:
        return next(v for v in self.fleet if v.id == vehicle_id)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and check a scenario file; raises :class:`ScenarioError` naming the key and the problem."""
    source = os.fspath(path)
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{source}: cannot read ({exc.strerror})") from None
    try:
        doc = tomllib.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    return parse_scenario(doc, Path(source).resolve().parent, source, default_name=Path(source).stem)


def parse_scenario(doc: Mapping[str, Any], base_dir: Path, source: str = "scenario",
                   default_name: str = "scenario") -> Scenario:
    """A checked :class:`Scenario` from a parsed document; field files are found relative to ``base_dir``."""
    root = Node(doc, "", source)
    name = root.text("name", default_name)
    description = root.raw("description", "")
    if not isinstance(description, str):
        raise root.error("description", "must be a string")
    seed = root.integer("seed", 0, minimum=0, maximum=2**63 - 1)

    w = root.table("world")
    dt_s = w.number("dt_s", 0.05, above=0.0, maximum=0.5)
    origin = w.numbers("origin", None, length=(2,))
    wind = read_wind(w.table("wind"))
    w.finish()
    if origin is not None and not (-90 < origin[0] < 90 and -180 <= origin[1] <= 180):
        raise fail(source, "world.origin", f"must be [lat, lon] in degrees, got {origin}")

    run = read_run(root.table("run"), dt_s)
    fields, frame = read_fields(root.tables("fields"), base_dir, origin)
    if not fields:
        raise fail(source, "fields", "at least one [[fields]] table is required")
    fleet = tuple(_read_vehicle(node) for node in root.tables("fleet"))
    if not fleet:
        raise fail(source, "fleet", "at least one [[fleet]] table is required")
    _unique(source, "fleet", [v.id for v in fleet], "id")
    jobs = tuple(_read_job(node, fields, fleet) for node in root.tables("jobs"))
    if not jobs:
        raise fail(source, "jobs", "at least one [[jobs]] table is required")
    _unique(source, "jobs", [j.name for j in jobs], "name")
    ids = [v.id for v in fleet]
    faults = tuple(sorted((read_fault(node, ids) for node in root.tables("faults")), key=lambda f: f.at_s))
    criteria = read_criteria(root.table("criteria"))
    root.finish()
    if any(v.driver == "mavlink" for v in fleet) and frame is None:
        frame = LocalFrame(52.0, 5.0)   # an autopilot speaks lat/lon: put local metres somewhere on Earth
        fields = tuple(FieldEntry(f.name, _with_frame(f.field, frame), f.source) for f in fields)
    return Scenario(name=name, source=source, seed=seed, world=WorldSpec(dt_s, wind, frame), run=run,
                    fields=fields, fleet=fleet, jobs=jobs, faults=faults, criteria=criteria,
                    description=description)


def _with_frame(fld: Field, frame: LocalFrame) -> Field:
    return Field(name=fld.name, boundary=fld.boundary, frame=frame, zones=fld.zones, source=fld.source,
                 properties=fld.properties)


def _unique(source: str, table: str, names: list[str], key: str) -> None:
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen:
            raise fail(source, f"{table}[{i}].{key}", f"{n!r} is used twice")
        seen.add(n)


def _read_vehicle(node: Node) -> VehicleEntry:
    vid = node.text("id")
    kind = node.text("kind", choices=KINDS)
    driver = node.text("driver", "sim", choices=DRIVERS)
    implement = node.text("implement", "")
    if implement:
        _check_implement(node, "implement", implement)
    spec = read_spec(node.table("spec"), vid, kind)
    start = node.numbers("start", None, length=(2, 3))
    if start is not None:
        start = (start[0], start[1], math.radians(start[2]) if len(start) == 3 else math.pi / 2)
    gnss = node.text("gnss", "rtk_fixed", choices=GNSS_QUALITIES[:3])
    options = node.table("options").data
    for key, value in options.items():
        if not isinstance(value, (int, float, str, bool)):
            raise node.error(f"options.{key}", f"must be a number, string or boolean, got {value!r}")
    node.finish()
    return VehicleEntry(id=vid, kind=kind, spec=spec, implement=implement, driver=driver, start=start,
                        gnss=gnss, options=dict(options))


def _check_implement(node: Node, key: str, spec: str) -> None:
    from agrifleet.core.implement import build_implement

    try:
        build_implement(spec)
    except AgrifleetError as exc:
        raise node.error(key, str(exc)) from None


def _read_job(node: Node, fields: tuple[FieldEntry, ...], fleet: tuple[VehicleEntry, ...]) -> JobEntry:
    index = node.path
    names = [f.name for f in fields]
    field_name = node.text("field", names[0] if len(names) == 1 else None)
    if field_name is None:
        raise node.error("field", f"is required when there are several fields ({', '.join(names)})")
    if field_name not in names:
        raise node.error("field", f"no field named {field_name!r} (fields: {', '.join(names)})")
    ids = [v.id for v in fleet]
    vehicles = node.strings("vehicles", ids)
    if not vehicles:
        raise node.error("vehicles", "must name at least one vehicle")
    for v in vehicles:
        if v not in ids:
            raise node.error("vehicles", f"no vehicle with id {v!r} in the fleet (fleet: {', '.join(ids)})")
    if len(set(vehicles)) != len(vehicles):
        raise node.error("vehicles", "names a vehicle twice")
    carried = sorted({v.implement for v in fleet if v.id in vehicles and v.implement})
    implement = node.text("implement", carried[0] if len(carried) == 1 else "")
    if not implement and len(carried) > 1:
        raise node.error("implement", f"the vehicles carry different implements ({'; '.join(carried)}); "
                                      "say which one the job uses")
    if implement:
        _check_implement(node, "implement", implement)
    planner = node.text("planner", "")
    if planner:
        _check_planner(node, planner)
    params = node.table("params").data
    if "depots" in params:
        _check_depots(node, params["depots"])
    start_s = node.number("start_s", 0.0, minimum=0.0)
    name = node.text("name", f"{field_name}-{index.rsplit('[', 1)[-1].rstrip(']')}")
    node.finish()
    return JobEntry(name=name, field=field_name, vehicles=tuple(vehicles), implement=implement,
                    planner=planner, params=dict(params), start_s=start_s)


def _check_depots(node: Node, depots: Any) -> None:
    """Depots (refill and battery points, local metres) are read by the planner and the trial alike."""
    ok = isinstance(depots, list) and all(
        isinstance(d, list) and len(d) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                    and math.isfinite(v) for v in d) for d in depots)
    if not ok:
        raise node.error("params.depots", f"must be a list of [x, y] positions in metres, got {depots!r}")


def _check_planner(node: Node, name: str) -> None:
    from agrifleet.core.plugin import discover

    known = discover("agrifleet.planners")
    if name not in known:
        raise node.error("planner", f"no planner plugin named {name!r} "
                                    f"(installed: {', '.join(sorted(known))})")
