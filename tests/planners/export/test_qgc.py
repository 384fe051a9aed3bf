"""QGroundControl .plan files: the schema fields QGC requires, mission items, geofence, rally points."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Point, Polygon

from agrifleet.core.implement import build_implement
from agrifleet.planners.export import ExportOptions, export_plans
from agrifleet.planners.export.mission import build_missions

from .plans import boustrophedon, with_sorties


def _poly(plan, latlon: list) -> Polygon:
    return Polygon(plan.frame.to_local(np.array(latlon)[:, ::-1]))


def test_plan_document_has_what_qgc_requires(tmp_path: Path) -> None:
    plan = boustrophedon()
    out = tmp_path / "field.plan"
    export_plans([plan], "qgc", out)
    doc = json.loads(out.read_text())
    assert (doc["fileType"], doc["version"], doc["groundStation"]) == ("Plan", 1, "QGroundControl")
    mission = doc["mission"]
    for key in ("cruiseSpeed", "hoverSpeed", "firmwareType", "vehicleType", "items", "plannedHomePosition"):
        assert key in mission
    assert (mission["firmwareType"], mission["vehicleType"], mission["version"]) == (3, 10, 2)
    assert mission["plannedHomePosition"] == pytest.approx([52.0, 5.0, 0.0])
    (expected,), _ = build_missions(plan, build_implement(plan.implement), ExportOptions())
    assert len(mission["items"]) == len(expected.items)
    for seq, (got, it) in enumerate(zip(mission["items"], expected.items), start=1):
        assert got["type"] == "SimpleItem" and got["doJumpId"] == seq and got["autoContinue"] is True
        assert (got["command"], got["frame"]) == (it.command, it.frame)
        assert got["params"] == pytest.approx(list(it.params) + [it.lat_deg, it.lon_deg, it.alt_m])
        if it.is_nav:
            assert got["AltitudeMode"] == 1 and got["Altitude"] == it.alt_m
    assert doc["geoFence"]["version"] == 2 and doc["rallyPoints"]["version"] == 2


def test_geofence_encloses_the_path_and_excludes_the_obstacle(tmp_path: Path) -> None:
    plan = boustrophedon()
    out = tmp_path / "f.plan"
    export_plans([plan], "qgc", out, ExportOptions(fence_margin_m=3.0))
    fence = json.loads(out.read_text())["geoFence"]["polygons"]
    inclusion = [f for f in fence if f["inclusion"]]
    exclusion = [f for f in fence if not f["inclusion"]]
    assert len(inclusion) == 1 and len(exclusion) == 1
    inc = _poly(plan, inclusion[0]["polygon"])
    assert all(inc.contains(Point(p)) for p in plan.xy)
    assert inc.area == pytest.approx(Polygon(plan.boundary.exterior).buffer(3.0, join_style="mitre").area, rel=1e-3)
    exc = _poly(plan, exclusion[0]["polygon"])
    assert exc.symmetric_difference(Polygon(plan.boundary.interiors[0])).area < 1e-3


def test_drone_plan_with_sorties_writes_one_file_per_sortie_with_depots_as_rally_points(tmp_path: Path) -> None:
    plan = boustrophedon(z_m=12.0, implement="sprayer:boom_width_m=6,n_sections=1,platform=air,actuation=sprayer")
    cut = int(np.flatnonzero(plan.path["swath"] == 2)[0])
    plan = with_sorties(plan, [cut])
    result = export_plans([plan], "qgc", tmp_path / "drone.plan")
    assert [f.name for f in result.files] == ["drone-part1.plan", "drone-part2.plan"]
    docs = [json.loads(f.read_text()) for f in result.files]
    assert {d["mission"]["vehicleType"] for d in docs} == {2}
    rally = docs[0]["rallyPoints"]["points"]
    assert len(rally) == 2
    depots = plan.frame.to_local(np.array(rally)[:, [1, 0]])
    assert depots == pytest.approx(np.array([s.depot_xy for s in plan.sorties]), abs=1e-6)
    assert docs[1]["agrifleet"]["first_sample"] == cut


def test_several_plans_are_named_by_vehicle(tmp_path: Path) -> None:
    a, b = boustrophedon(vehicle="t1"), boustrophedon(vehicle="t 2")
    result = export_plans([a, b], "qgc", tmp_path / "farm.plan")
    assert [f.name for f in result.files] == ["farm-t1.plan", "farm-t_2.plan"]
    same = export_plans([a, a], "qgc", tmp_path / "x.plan")
    assert [f.name for f in same.files] == ["x-1.plan", "x-2.plan"]
