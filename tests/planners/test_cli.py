"""``agrifleet plan`` and ``agrifleet demo`` on the command line: figures, files, and one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agrifleet.core.cli import main

REQUIRED = {"plan_time_s", "n_swaths", "angle_deg", "path_length_m", "working_length_m", "turn_length_m",
            "n_turns", "headland_length_m", "field_area_m2", "coverage_ratio", "overlap_ratio",
            "boundary_violations"}


@pytest.fixture
def field_file(tmp_path):
    path = tmp_path / "f.geojson"
    path.write_text(json.dumps({"type": "Feature", "properties": {"name": "F"}, "geometry": {
        "type": "Polygon", "coordinates": [[[0, 0], [240, 0], [240, 120], [0, 120], [0, 0]],
                                           [[100, 40], [120, 40], [120, 60], [100, 60], [100, 40]]]}}))
    return path


def test_plan_json_figures_and_outputs(field_file, tmp_path, capsys):
    out, pic = tmp_path / "plan.geojson", tmp_path / "plan.png"
    code = main(["plan", str(field_file), "--width", "6", "--turn-radius", "5", "-o", str(out),
                 "--map", str(pic), "--json"])
    assert code == 0
    figures = json.loads(capsys.readouterr().out)
    assert REQUIRED <= set(figures)
    assert figures["boundary_violations"] == 0 and figures["coverage_ratio"] >= 0.995
    assert out.stat().st_size > 1000 and pic.read_bytes()[:4] == b"\x89PNG"


def test_multipolygon_plans_each_part(tmp_path, capsys):
    path = tmp_path / "m.geojson"
    path.write_text(json.dumps({"type": "Feature", "properties": {"name": "M"}, "geometry": {
        "type": "MultiPolygon", "coordinates": [[[[0, 0], [150, 0], [150, 90], [0, 90], [0, 0]]],
                                                [[[300, 0], [450, 0], [450, 90], [300, 90], [300, 0]]]]}}))
    assert main(["plan", str(path), "--width", "6", "--turn-radius", "5", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["fields"] == ["M/0", "M/1"] and len(figures["parts"]) == 2


@pytest.mark.parametrize("args,message", [
    (["--width", "-6", "--turn-radius", "5"], "width"),
    (["--width", "6", "--turn-radius", "5", "--map", "x.jpg"], "must be .png or .svg"),
])
def test_bad_options_are_one_line(field_file, capsys, args, message):
    assert main(["plan", str(field_file), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_bad_field_file_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}')
    proc = subprocess.run([sys.executable, "-m", "agrifleet.core.cli", "plan", str(bad), "--width", "6",
                           "--turn-radius", "5"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "crosses itself" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_implement_gives_width_and_sections_and_is_recorded(field_file, tmp_path, capsys):
    from agrifleet.core.plan_io import read_plans

    out = tmp_path / "plan.msgpack"
    assert main(["plan", str(field_file), "--implement", "sprayer:boom_width_m=12,n_sections=3",
                 "--turn-radius", "5", "-o", str(out), "--json"]) == 0
    [plan] = read_plans(out)
    assert plan.width_m == 12.0 and plan.implement.startswith("sprayer")
    assert int(plan.path["sections"].max()) == 0b111
    assert main(["plan", str(field_file), "--turn-radius", "5"]) == 2
    assert "--width" in capsys.readouterr().err
