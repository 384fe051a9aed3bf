"""``agrifleet export``: formats, origin, plan selection, limits, and one-line errors with exit code 2."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pymavlink import mavwp

from agrifleet.core.cli import main
from agrifleet.core.plan_io import write_plans

from .plans import boustrophedon


@pytest.fixture
def plan_files(tmp_path: Path) -> dict[str, Path]:
    geo = tmp_path / "plan.geojson"
    write_plans([boustrophedon(vehicle="t1"), boustrophedon(vehicle="t2")], geo)
    local = tmp_path / "local.msgpack"
    write_plans([boustrophedon(frame=None)], local)
    return {"geo": geo, "local": local}


@pytest.mark.parametrize("fmt, name", [("qgc", "m.plan"), ("wpl", "m.waypoints"), ("kml", "m.kml"),
                                       ("geojson", "m.geojson"), ("isoxml", "TASKDATA")])
def test_every_format_from_the_suffix_or_the_flag(plan_files, tmp_path: Path, capsys, fmt: str, name: str) -> None:
    out = tmp_path / name
    argv = ["export", str(plan_files["geo"]), "-o", str(out), "--json"] + (["-f", fmt] if fmt == "isoxml" else [])
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == fmt
    assert all(Path(f).exists() for f in report["files"])
    expected = 2 if fmt in ("qgc", "wpl") else 1  # one mission per vehicle; maps and TaskData hold both
    assert len(report["files"]) == expected


def test_local_plan_with_origin_and_selected_plan(plan_files, tmp_path: Path, capsys) -> None:
    out = tmp_path / "one.waypoints"
    assert main(["export", str(plan_files["local"]), "-o", str(out), "--origin", "52.1, 5.2"]) == 0
    assert "wrote" in capsys.readouterr().out
    loader = mavwp.MAVWPLoader()
    loader.load(str(out))
    assert (loader.wp(1).x, loader.wp(1).y) == pytest.approx((52.1, 5.2), abs=1e-9)
    assert main(["export", str(plan_files["geo"]), "-o", str(tmp_path / "t2.plan"), "--plan-index", "2"]) == 0
    doc = json.loads((tmp_path / "t2.plan").read_text())
    assert doc["agrifleet"]["vehicle"] == "t2"


def test_item_limit_split_and_warn(plan_files, tmp_path: Path, capsys) -> None:
    assert main(["export", str(plan_files["local"]), "--origin", "52,5", "-o", str(tmp_path / "s.plan"),
                 "--max-items", "60", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["files"]) >= 3 and all(d["items"] <= 60 for d in report["details"])
    assert Path(report["files"][0]).name == "s-part1.plan"
    assert main(["export", str(plan_files["local"]), "--origin", "52,5", "-o", str(tmp_path / "w.plan"),
                 "--max-items", "60", "--on-limit", "warn"]) == 0
    err = capsys.readouterr().err
    assert "agrifleet export: warning:" in err and "exceeds the 60-item limit" in err


@pytest.mark.parametrize("args, words", [
    (["-o", "x.plan"], "local metres with no geographic frame; give --origin LAT,LON"),
    (["-o", "x.plan", "--origin", "north"], "--origin 'north' is not LAT,LON"),
    (["-o", "x.plan", "--origin", "95,5"], "export option origin = (95.0, 5.0) is not a latitude"),
    (["-o", "x.dat", "--origin", "52,5"], "cannot tell the format from the suffix '.dat'; give --format"),
    (["-o", "x.plan", "--origin", "52,5", "--plan-index", "3"], "--plan-index 3: .* holds 1 plan"),
    (["-o", "x.plan", "--origin", "52,5", "--implement", "plough"], "no implement plugin named 'plough'"),
    (["-o", "x.plan", "--origin", "52,5", "--implement", "sprayer:width=2"], "unknown parameter 'width'"),
    (["-o", "x.plan", "--origin", "52,5", "--max-items", "3"], "max_items = 3 must be within 8..65535"),
    (["-o", "nowhere/x.plan", "--origin", "52,5"], "folder nowhere does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(plan_files, tmp_path: Path, capsys, monkeypatch, args, words) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(plan_files["local"]), *args]) == 2
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if not ln.startswith("agrifleet: warning:")]
    assert len(err) == 1 and err[0].startswith("agrifleet export: error: ")
    assert re.search(words.replace("(", r"\(").replace(")", r"\)"), err[0]), err[0]


def test_not_a_plan_file(tmp_path: Path, capsys) -> None:
    field = tmp_path / "field.geojson"
    field.write_text('{"type": "FeatureCollection", "features": []}')
    assert main(["export", str(field), "-o", str(tmp_path / "x.kml")]) == 2
    assert "not an agrifleet plan file" in capsys.readouterr().err
