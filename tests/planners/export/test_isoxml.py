"""ISOXML TaskData read back with the ``isoxml`` package from PyPI, and imported again as fields."""
from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from isoxml.models.base import v4 as iso
from isoxml.util.isoxml_io import isoxml_from_path, isoxml_from_text

from shapely.geometry import Polygon

from agrifleet.core.field_files import load_fields
from agrifleet.planners.export import ExportOptions, export_plans

from .plans import boustrophedon, random_plans


def _lonlat(lsg) -> np.ndarray:
    return np.array([[float(p.east), float(p.north)] for p in lsg.points])


def _ring(plan, coords) -> np.ndarray:
    ring = np.asarray(coords)[:-1, :2]
    return plan.frame.to_wgs84(ring)


def test_taskdata_structure_read_by_the_isoxml_package(tmp_path: Path) -> None:
    plan = boustrophedon()
    result = export_plans([plan], "isoxml", tmp_path / "TASKDATA", ExportOptions(customer="Jansen", farm="Hoeve"))
    assert result.files == [tmp_path / "TASKDATA" / "TASKDATA.XML"]
    td, _ = isoxml_from_path(tmp_path / "TASKDATA")
    assert isinstance(td, iso.Iso11783TaskData)
    assert td.customers[0].last_name == "Jansen" and td.farms[0].designator == "Hoeve"
    assert td.farms[0].customer_id_ref == td.customers[0].id
    (pfd,) = td.partfields
    assert pfd.designator == "north" and pfd.area == int(round(plan.boundary.area))
    boundary = [p for p in pfd.polygons if p.type == iso.PolygonType.PartfieldBoundary]
    obstacles = [p for p in pfd.polygons if p.type == iso.PolygonType.Obstacle]
    assert len(boundary) == 1 and len(obstacles) == 1
    ext = [g for g in boundary[0].line_strings if g.type == iso.LineStringType.PolygonExterior]
    hol = [g for g in boundary[0].line_strings if g.type == iso.LineStringType.PolygonInterior]
    assert _lonlat(ext[0]) == pytest.approx(_ring(plan, plan.boundary.exterior.coords), abs=1e-9)
    assert _lonlat(hol[0]) == pytest.approx(_ring(plan, plan.boundary.interiors[0].coords), abs=1e-9)
    assert _lonlat(obstacles[0].line_strings[0]) == pytest.approx(_lonlat(hol[0]), abs=1e-12)
    (ggp,) = pfd.guidance_groups
    assert len(ggp.guidance_patterns) == 6
    for k, gpn in enumerate(ggp.guidance_patterns):
        assert gpn.type == iso.GuidancePatternType.AB
        a, b = gpn.line_strings[0].points
        assert (a.type, b.type) == (iso.PointType.GuidanceReferenceA, iso.PointType.GuidanceReferenceB)
        sw = plan.path[plan.path["swath"] == k]
        ends = plan.frame.to_wgs84(np.array([[sw["x"][0], sw["y"][0]], [sw["x"][-1], sw["y"][-1]]]))
        assert [[float(a.east), float(a.north)], [float(b.east), float(b.north)]] == pytest.approx(ends, abs=1e-9)
        assert float(gpn.heading) == pytest.approx(90.0 if k % 2 == 0 else 270.0, abs=0.01)
    (task,) = td.tasks
    assert (task.partfield_id_ref, task.status) == (pfd.id, iso.TaskStatus.Planned)
    assert task.guidance_allocations[0].guidance_group_id_ref == ggp.id


def test_curved_passes_become_curve_patterns_and_zip_output(tmp_path: Path) -> None:
    plan = boustrophedon()
    path = plan.path.copy()
    on = path["swath"] == 2
    path["y"][on] += 0.02 * (path["x"][on] - 50.0) ** 2 / 50.0  # bend swath 2 by up to 1 m
    plan = plan.with_(path=path)
    export_plans([plan], "isoxml", tmp_path / "task.zip", ExportOptions(tolerance_m=0.05))
    with zipfile.ZipFile(tmp_path / "task.zip") as z:
        assert z.namelist() == ["TASKDATA/TASKDATA.XML"]  # the folder terminals look for on a USB stick
        z.extractall(tmp_path / "unzipped")
    td, _ = isoxml_from_path(tmp_path / "unzipped" / "TASKDATA")
    gpns = td.partfields[0].guidance_groups[0].guidance_patterns
    assert [g.type for g in gpns].count(iso.GuidancePatternType.Curve) == 1
    curve = gpns[2]
    types = [p.type for p in curve.line_strings[0].points]
    assert types[0] == iso.PointType.GuidanceReferenceA and types[-1] == iso.PointType.GuidanceReferenceB
    assert len(types) > 3 and set(types[1:-1]) == {iso.PointType.GuidancePoint}


def test_partfield_imports_back_as_the_same_field(tmp_path: Path) -> None:
    plan = boustrophedon()
    export_plans([plan], "isoxml", tmp_path / "TASKDATA")
    (field,) = load_fields(tmp_path / "TASKDATA" / "TASKDATA.XML")
    assert field.name == "north" and len(field.obstacles) == 1
    back = plan.frame.to_local(field.frame.to_wgs84(np.asarray(field.boundary.exterior.coords)))
    # 9 decimals of a degree are 0.1 mm: the boundary comes back within that
    assert Polygon(back).hausdorff_distance(Polygon(plan.boundary.exterior)) < 2e-4
    assert field.area_m2 == pytest.approx(plan.boundary.area, abs=plan.boundary.length * 2e-4)


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(random_plans())
def test_random_plans_boundaries_and_passes_read_back(tmp_path: Path, plan) -> None:
    out = tmp_path / "TASKDATA.XML"
    export_plans([plan], "isoxml", out)
    td = isoxml_from_text(out.read_text(encoding="utf-8"))
    pfd = td.partfields[0]
    ext = pfd.polygons[0].line_strings[0]
    assert _lonlat(ext) == pytest.approx(_ring(plan, plan.boundary.exterior.coords), abs=1e-9)
    passes = sum(1 for _ in pfd.guidance_groups[0].guidance_patterns)
    kinds = plan.path["kind"]
    expected = 0
    prev = None
    for seg in plan.segments():
        key = (seg.kind, seg.swath)
        if seg.kind.name in ("SWATH", "HEADLAND") and key != prev:
            expected += 1
        prev = key if seg.kind.name in ("SWATH", "HEADLAND") else None
    assert passes == expected and len(kinds) == len(plan.path)
    (field,) = load_fields(out)
    assert field.area_m2 == pytest.approx(plan.boundary.area, abs=plan.boundary.length * 2e-4)
    assert math.isfinite(field.area_m2)
