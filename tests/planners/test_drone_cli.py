"""``agrifleet survey`` and ``agrifleet plan-job``: figures, files, pictures, and one-line errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
from agrifleet.core.cli import main
from agrifleet.core.errors import ConfigError
from agrifleet.core.field_files import sample_farm_path
from agrifleet.core.plan_io import read_plans
from agrifleet.planners.drone_cli import parse_vehicles

AIR = ("sprayer:platform=air,boom_width_m=7,n_sections=1,rate_l_per_ha=15,tank_l=20,actuation=sprayer,"
       "nozzle_spacing_m=1.75,boom_offset_m=0,nozzle_max_flow_l_per_min=5")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_survey_writes_the_plan_in_sorties_draws_it_and_prints_figures(tmp_path, capsys):
    plan_file, picture = tmp_path / "pond.msgpack", tmp_path / "pond.png"
    code, out, _ = run(capsys, "survey", str(sample_farm_path()), "--field", "Pond field", "--implement", AIR,
                       "--depot", "0,0", "--depot", "450,100", "-o", str(plan_file), "--map", str(picture),
                       "--json")
    assert code == 0
    fig = json.loads(out)
    assert fig["n_sorties"] == len(fig["sorties"]) >= 7
    assert fig["width_m"] == 7.0 and fig["coverage_ratio"] > 0.98
    assert fig["payload_l"] == pytest.approx(sum(s["payload_l"] for s in fig["sorties"]))
    (plan,) = read_plans(plan_file)
    assert len(plan.sorties) == fig["n_sorties"] and plan.frame is not None
    assert {tuple(s.depot_xy) for s in plan.sorties} <= {(0.0, 0.0), (450.0, 100.0)}
    assert picture.stat().st_size > 10_000


def test_survey_of_a_camera_reports_the_gsd_and_follows_a_height_map(tmp_path, capsys):
    terrain = tmp_path / "hill.npz"
    heights = np.zeros((60, 60))
    heights[20:40, 20:40] = 12.0
    np.savez(terrain, heights_m=heights, origin_xy=np.array([-450.0, -100.0]), cell_m=10.0)
    argv = ["survey", str(sample_farm_path()), "--field", "North field", "--implement", "camera",
            "--altitude", "40"]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "GSD 1.10 cm" in out and "swath 18.00 m at 40 m" in out
    code, out, _ = run(capsys, *argv, "--terrain", str(terrain), "--json")
    fig = json.loads(out)
    assert code == 0 and fig["gsd_m"] == pytest.approx(0.01096, abs=1e-5) and fig["terrain_following"]
    low, high = fig["height_m"]
    assert low == pytest.approx(40.0, abs=1e-3)
    assert high > 42.0   # comes down no faster than 2 m/s after the hill


@pytest.mark.parametrize(("argv", "message"), [
    (["--implement", AIR], "holds 3 fields"),
    (["--field", "Pond field", "--implement", "sprayer"], "for ground vehicles"),
    (["--field", "Pond field", "--implement", AIR, "--depot", "3,x"], "depot '3,x' is not two numbers"),
    (["--field", "Pond field", "--implement", AIR, "--vehicle", "drone:tank=3"], "unknown key 'tank'"),
    (["--field", "Pond field", "--implement", AIR, "--vehicle", "tractor"], "flown by a drone"),
    (["--field", "Nowhere", "--implement", AIR], "no field named 'Nowhere'"),
    (["--field", "Pond field", "--implement", AIR, "--depot", "90000,0"], "no sortie of 'drone' reaches"),
    (["--field", "Pond field", "--implement", AIR, "--map", "x.jpg"], "must be .png or .svg"),
])
def test_bad_survey_input_is_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, "survey", str(sample_farm_path()), *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and err.startswith("agrifleet survey: error: ")


def test_plan_job_shares_the_pond_field_between_a_tractor_and_drones(tmp_path, capsys):
    out_dir = tmp_path / "job"
    code, out, _ = run(capsys, "plan-job", str(sample_farm_path()), "--field", "Pond field",
                       "--vehicles", "tractor,drone*2",
                       "--ground-implement", "sprayer:boom_width_m=12,n_sections=4", "--air-implement", AIR,
                       "--depot", "0,0", "-o", str(out_dir), "--json")
    assert code == 0
    fig = json.loads(out)
    assert set(fig["vehicles"]) == {"tractor", "drone-1", "drone-2"}
    assert fig["spread"] <= 0.10 and fig["vehicles"]["drone-1"]["sorties"] > 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["drone-1.msgpack", "drone-2.msgpack", "figures.json",
                                                          "job.geojson", "tractor.msgpack"]
    assert len(read_plans(out_dir / "job.geojson")) == 3
    code, _, err = run(capsys, "plan-job", str(sample_farm_path()), "--field", "Pond field", "--vehicles",
                       "tractor", "--air-implement", AIR)
    assert code == 2 and "tractors need a ground implement" in err


def test_vehicle_specs_on_the_command_line():
    (d,) = parse_vehicles("drone:name=d7,tank_l=30,capabilities=spray+camera")
    assert d.name == "d7" and d.tank_l == 30.0 and {"spray", "camera", "air"} <= d.capabilities
    assert [v.name for v in parse_vehicles("tractor:count=3")] == ["tractor-1", "tractor-2", "tractor-3"]
    with pytest.raises(ConfigError, match="'plane' is not one of"):
        parse_vehicles("plane")
    with pytest.raises(ConfigError, match="count = '0'"):
        parse_vehicles("drone:count=0")
