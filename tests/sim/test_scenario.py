"""Scenario files: the schema, defaults, frames, and one clear error naming the key for every bad input."""
from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
from agrifleet.core.errors import ScenarioError
from agrifleet.sim.scenario import GnssFault, LinkLoss, VehicleFailure, WindGust, load_scenario

from ..conftest import ROOT

EXAMPLES = sorted((ROOT / "examples" / "scenarios").glob("*.toml"))

BASE = """\
name = "base"
seed = 4

[world]
dt_s = 0.05
wind = { speed_mps = 3.0, towards_deg = 90.0 }

[run]
time_limit_s = 600

[[fields]]
name = "north"
polygon = [[0, 0], [120, 0], [120, 60], [0, 60]]
holes = [[[50, 20], [60, 20], [60, 30], [50, 30]]]

[[fleet]]
id = "t1"
kind = "tractor"
implement = "sprayer:boom_width_m=12,n_sections=4"
spec = { work_speed_mps = 3.0, wheelbase_m = 3.0 }
start = [10, -10, 90]

[[fleet]]
id = "d1"
kind = "multirotor"
implement = "sprayer:platform=air,boom_width_m=6,n_sections=1"

[[jobs]]
name = "spray"
vehicles = ["t1"]
params = { headland_passes = 1, angle_deg = 0 }

[[faults]]
at_s = 90
vehicle = "t1"
kind = "gnss"
quality = "rtk_float"
duration_s = 30

[[faults]]
at_s = 30
kind = "wind_gust"
duration_s = 10
speed_mps = 9

[[faults]]
at_s = 60
vehicle = "d1"
kind = "link_loss"
duration_s = 5

[[faults]]
at_s = 200
vehicle = "t1"
kind = "vehicle_failure"
silent = true

[criteria]
coverage_min = 0.97
overlap_max = 0.1
cross_track_rms_max_m = 0.05
no_geofence_breach = true
done_within_s = 500
"""


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_scenario_loads_with_its_values_and_defaults(tmp_path):
    sc = load_scenario(write(tmp_path, BASE))
    assert (sc.name, sc.seed, sc.world.dt_s, sc.run.time_limit_s) == ("base", 4, 0.05, 600.0)
    assert sc.world.wind.mean_mps[1] == pytest.approx(3.0) and abs(sc.world.wind.mean_mps[0]) < 1e-12
    assert sc.run.replan_after_s == 10.0 and sc.run.liveness == 3          # defaults
    (fld,) = sc.fields
    assert fld.name == "north" and fld.field.area_m2 == pytest.approx(120 * 60 - 100)
    assert len(fld.field.obstacles) == 1 and sc.world.frame is None
    t1, d1 = sc.fleet
    assert t1.spec.name == "t1" and t1.spec.work_speed_mps == 3.0 and t1.spec.wheelbase_m == 3.0
    # a new wheelbase gives the turning radius of the new geometry, not the example tractor's
    assert t1.spec.min_turn_radius_m == pytest.approx(3.0 / math.tan(t1.spec.max_steer_rad))
    assert t1.start == pytest.approx((10.0, -10.0, math.pi / 2)) and d1.start is None
    assert (t1.driver, t1.gnss, d1.spec.kind.value) == ("sim", "rtk_fixed", "multirotor")
    (job,) = sc.jobs
    assert (job.field, job.vehicles, job.planner, job.implement) == (
        "north", ("t1",), "", "sprayer:boom_width_m=12,n_sections=4")     # "": the fleet manager plans it
    assert job.params == {"headland_passes": 1, "angle_deg": 0}
    # faults come sorted by time, each its own type
    assert [type(f) for f in sc.faults] == [WindGust, LinkLoss, GnssFault, VehicleFailure]
    assert [f.at_s for f in sc.faults] == [30.0, 60.0, 90.0, 200.0]
    assert sc.faults[2].end_s == 120.0 and sc.faults[3].silent and math.isinf(sc.faults[3].end_s)
    c = sc.criteria
    assert (c.coverage_min, c.overlap_max, c.cross_track_rms_max_m, c.no_geofence_breach, c.done_within_s,
            c.cross_track_max_m, c.geofence_margin_m) == (0.97, 0.1, 0.05, True, 500.0, None, 2.0)


def test_a_scenario_travels_to_workers_intact(tmp_path):
    sc = load_scenario(write(tmp_path, BASE))
    back = pickle.loads(pickle.dumps(sc))
    assert back.fields[0].field.boundary.equals(sc.fields[0].field.boundary)
    assert back.fleet == sc.fleet and back.faults == sc.faults and back.criteria == sc.criteria


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_scenario_loads(path):
    sc = load_scenario(path)
    assert sc.fleet and sc.jobs and sc.fields
    assert all(j.field in {f.name for f in sc.fields} for j in sc.jobs)


def test_field_files_and_inline_wgs84_share_one_frame(tmp_path):
    farm = ROOT / "core" / "data" / "sample_farm.geojson"
    text = f"""
[[fields]]
file = "{farm}"
feature = "Creek field"
[[fields]]
name = "east"
polygon_wgs84 = [[11.3200, 44.7200], [11.3210, 44.7200], [11.3210, 44.7206], [11.3200, 44.7206]]
[[fleet]]
id = "t1"
kind = "tractor"
[[jobs]]
field = "east"
[[jobs]]
field = "Creek field"
"""
    sc = load_scenario(write(tmp_path, text))
    frame = sc.world.frame
    assert frame is not None and all(f.field.frame == frame for f in sc.fields)
    creek, east = (f.field for f in sc.fields)
    assert creek.area_m2 == pytest.approx(45600, rel=1e-3)
    # 0.001 degrees of longitude by 0.0006 of latitude at 44.72 N
    assert east.area_m2 == pytest.approx(0.001 * 111320 * math.cos(math.radians(44.72)) * 0.0006 * 111132,
                                         rel=0.01)
    # an explicit origin re-projects the file's field into it, keeping its shape
    moved = load_scenario(write(tmp_path, "[world]\norigin = [44.70, 11.30]\n" + text, "o.toml"))
    assert moved.world.frame.lat0_deg == 44.70
    assert moved.fields[0].field.area_m2 == pytest.approx(creek.area_m2, rel=1e-5)
    corner = np.asarray(creek.boundary.exterior.coords[0])
    there = moved.world.frame.to_local(frame.to_wgs84(corner))
    assert np.min(np.hypot(*(np.asarray(moved.fields[0].field.boundary.exterior.coords) - there).T)) < 1e-6
    assert there[1] - corner[1] == pytest.approx((frame.lat0_deg - 44.70) * 111132, rel=0.01)


def test_mavlink_vehicles_get_a_frame_for_local_fields(tmp_path):
    text = BASE.replace('id = "d1"\nkind = "multirotor"', 'id = "d1"\nkind = "multirotor"\ndriver = "mavlink"')
    sc = load_scenario(write(tmp_path, text))
    assert sc.world.frame is not None and sc.fields[0].field.frame == sc.world.frame


BAD = [
    # (replace this, with that) -> the error names this key path and problem
    ("wheelbase_m = 3.0", "wheelbase_m = -1", "fleet[0].spec.wheelbase_m: must be > 0, got -1"),
    ("wheelbase_m = 3.0", "wheelbase = 3.0", "fleet[0].spec.wheelbase: unknown key"),
    ("work_speed_mps = 3.0", 'work_speed_mps = "fast"', "fleet[0].spec.work_speed_mps: must be a finite number"),
    ('kind = "tractor"', 'kind = "tank"', "fleet[0].kind: must be one of tractor, rover, multirotor, got 'tank'"),
    ('id = "d1"', 'id = "t1"', "fleet[1].id: 't1' is used twice"),
    ("start = [10, -10, 90]", "start = [10]", "fleet[0].start: must hold 2 or 3 numbers, got 1"),
    ('implement = "sprayer:boom_width_m=12,n_sections=4"\nspec',
     'implement = "sprayer:boom_width=12"\nspec', "fleet[0].implement: implement 'sprayer': unknown parameter"),
    ('[[fleet]]\nid = "t1"', '[[fleet]]\ndriver = "ros"\nid = "t1"', "fleet[0].driver: must be one of sim"),
    ("at_s = 90", "at_s = -5", "faults[0].at_s: must be >= 0, got -5"),
    ('quality = "rtk_float"', 'quality = "dgps"', "faults[0].quality: must be one of rtk_float, single, none"),
    ('vehicle = "d1"\nkind = "link_loss"', 'vehicle = "t9"\nkind = "link_loss"',
     "faults[2].vehicle: no vehicle with id 't9'"),
    ('kind = "link_loss"\nduration_s = 5', 'kind = "link_loss"', "faults[2].duration_s: is required"),
    ('kind = "wind_gust"', 'kind = "wind_gust"\nvehicle = "t1"', "faults[1].vehicle: a wind gust blows"),
    ('kind = "vehicle_failure"', 'kind = "meteor"', "faults[3].kind: must be one of vehicle_failure, gnss"),
    ("coverage_min = 0.97", "coverage_min = 1.5", "criteria.coverage_min: must be <= 1, got 1.5"),
    ("coverage_min = 0.97", "coverage = 0.97", "criteria.coverage: unknown key"),
    ("no_geofence_breach = true", "no_geofence_breach = 1", "criteria.no_geofence_breach: must be true or false"),
    ('seed = 4', 'seed = 4\nplanet = "mars"', "planet: unknown key"),
    ("dt_s = 0.05", "dt_s = 0", "world.dt_s: must be > 0, got 0"),
    ("time_limit_s = 600", "time_limit_s = 600\nliveness = 0", "run.liveness: must be >= 1, got 0"),
    ('vehicles = ["t1"]', 'vehicles = ["t7"]', "jobs[0].vehicles: no vehicle with id 't7'"),
    ('vehicles = ["t1"]', 'vehicles = ["t1"]\nfield = "south"', "jobs[0].field: no field named 'south'"),
    ('vehicles = ["t1"]', 'vehicles = ["t1"]\nplanner = "magic"', "jobs[0].planner: no planner plugin named"),
    ('vehicles = ["t1"]', 'vehicles = ["t1"]\nstart_s = "soon"', "jobs[0].start_s: must be a finite number"),
    ("angle_deg = 0 }", 'angle_deg = 0, depots = [[1, "x"]] }', "jobs[0].params.depots: must be a list of [x, y]"),
    ('vehicles = ["t1"]', 'vehicles = ["t1", "d1"]',
     "jobs[0].implement: the vehicles carry different implements"),
    ("[60, 30], [50, 30]]]", '[60, "x"], [50, 30]]]', "fields[0].polygon: hole 1 has coordinates that are not numbers"),
    ("[[0, 0], [120, 0], [120, 60], [0, 60]]", "[[0, 0], [120, 60], [120, 0], [0, 60]]",
     "fields[0].polygon: boundary is not a simple ring: it crosses itself"),
    ('name = "north"', 'name = "north"\nfile = "north.geojson"',
     "fields[0]: give exactly one of file, polygon, polygon_wgs84 (got file and polygon)"),
    ("[[fields]]", "[[fields]]\n[[fields]]", "fields[0]: give exactly one of file, polygon, polygon_wgs84 (got none)"),
]


@pytest.mark.parametrize("old,new,message", BAD, ids=[b[2].split(":")[0] for b in BAD])
def test_a_bad_value_is_one_clear_error_naming_its_key(tmp_path, old, new, message):
    assert old in BASE
    path = write(tmp_path, BASE.replace(old, new, 1))
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and message in text
    assert "\n" not in text and err.value.exit_code == 2


def test_files_that_cannot_be_read(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.toml")
    with pytest.raises(ScenarioError, match=r"not valid TOML: .*line 2"):
        load_scenario(write(tmp_path, 'name = "x"\nseed = = 3\n'))
    with pytest.raises(ScenarioError, match="fleet: at least one"):
        load_scenario(write(tmp_path, BASE.split("[[fleet]]")[0]))
    missing = BASE.replace('name = "north"\npolygon = [[0, 0], [120, 0], [120, 60], [0, 60]]\n'
                           'holes = [[[50, 20], [60, 20], [60, 30], [50, 30]]]', 'file = "nowhere.geojson"')
    with pytest.raises(ScenarioError, match=r"fields\[0\]\.file: .*nowhere.geojson: no such file"):
        load_scenario(write(tmp_path, missing))


def test_a_field_file_with_several_fields_needs_a_feature(tmp_path):
    farm = ROOT / "core" / "data" / "sample_farm.geojson"
    text = f'[[fields]]\nfile = "{farm}"\n[[fleet]]\nid = "t"\nkind = "rover"\n[[jobs]]\n'
    with pytest.raises(ScenarioError, match=r"fields\[0\]\.file: .* holds 3 fields .*feature"):
        load_scenario(write(tmp_path, text))
    with pytest.raises(ScenarioError, match=r"fields\[0\]\.feature: .*no field named 'Nope' \(it has: North"):
        load_scenario(write(tmp_path, text.replace("[[fleet]]", 'feature = "Nope"\n[[fleet]]')))
    doc = json.loads(farm.read_text())
    assert len(doc["features"]) >= 3
