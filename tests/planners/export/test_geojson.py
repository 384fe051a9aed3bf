"""GeoJSON exports read back by the plan reader to the same plans."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from agrifleet.core.errors import ConfigError
from agrifleet.core.plan_io import read_plans
from agrifleet.planners.export import ExportOptions, export_plans

from .plans import boustrophedon, random_plans


def _equal(a, b) -> None:
    for name in ("kind", "sections", "direction", "swath"):
        assert np.array_equal(a.path[name], b.path[name])
    assert a.path["x"] == pytest.approx(b.path["x"], abs=1e-6)
    assert a.path["y"] == pytest.approx(b.path["y"], abs=1e-6)
    assert a.path["z"] == pytest.approx(b.path["z"], abs=1e-4)
    assert a.path["speed"] == pytest.approx(b.path["speed"])
    assert a.path["heading"] == pytest.approx(b.path["heading"], abs=1e-9)
    assert (a.implement, a.vehicle, a.field_name) == (b.implement, b.vehicle, b.field_name)
    assert a.boundary.symmetric_difference(b.boundary).area < 1e-4


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(random_plans())
def test_random_plans_read_back_equal(tmp_path: Path, plan) -> None:
    out = tmp_path / "r.geojson"
    export_plans([plan], "geojson", out)
    (back,) = read_plans(out)
    _equal(back, plan)


def test_local_plan_needs_an_origin_and_then_reads_back_in_place(tmp_path: Path) -> None:
    plan = boustrophedon(frame=None)
    with pytest.raises(ConfigError, match="local metres .* give --origin LAT,LON"):
        export_plans([plan], "geojson", tmp_path / "x.geojson")
    export_plans([plan], "geojson", tmp_path / "x.geojson", ExportOptions(origin=(48.1, 11.5)))
    doc = json.loads((tmp_path / "x.geojson").read_text())
    start = doc["features"][1]["geometry"]["coordinates"][0]
    assert start[:2] == pytest.approx([11.5, 48.1], abs=1e-9)  # local (0, 0) sits at the origin
    (back,) = read_plans(tmp_path / "x.geojson")
    assert back.frame.lat0_deg == 48.1
    _equal(back, plan)


def test_gcj02_output_for_chinese_web_maps(tmp_path: Path) -> None:
    from agrifleet.core.geo import LocalFrame

    plan = boustrophedon(frame=LocalFrame(31.2, 121.4))
    export_plans([plan], "geojson", tmp_path / "c.geojson", ExportOptions(out_crs="gcj02"))
    doc = json.loads((tmp_path / "c.geojson").read_text())
    start = np.array(doc["features"][1]["geometry"]["coordinates"][0][:2])
    assert np.hypot(*(start - [121.4, 31.2])) > 1e-3  # shifted by the GCJ-02 offset (hundreds of metres)
    (back,) = read_plans(tmp_path / "c.geojson")
    _equal(back, plan)
