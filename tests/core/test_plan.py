"""Plan model, plan files (msgpack and GeoJSON round trips) and the numpy-aware msgpack codec."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from agrifleet.core.codec import CodecError, packb, unpackb
from agrifleet.core.errors import PlanError
from agrifleet.core.geo import LocalFrame
from agrifleet.core.plan import PATH_DTYPE, Plan, SegmentKind, Sortie, make_path
from agrifleet.core.plan_io import plans_from_geojson, plans_to_geojson, read_plans, write_plans

FRAME = LocalFrame(lat0_deg=31.2, lon0_deg=121.5)
FIELD = Polygon([(-10, -10), (60, -10), (60, 40), (-10, 40)], [[(20, 10), (30, 10), (30, 20), (20, 20)]])


def sample_plan(frame=FRAME) -> Plan:
    swath = make_path(np.array([[0, 0], [50, 0]]), kind=SegmentKind.SWATH, speed_mps=2.5, sections=3, swath=0)
    ang = np.linspace(-math.pi / 2, math.pi / 2, 12)
    turn = make_path(np.column_stack([50 + 3 * np.cos(ang), 3 + 3 * np.sin(ang)]), kind=SegmentKind.TURN,
                     speed_mps=1.5)
    back = make_path(np.array([[50, 6], [0, 6]]), kind=SegmentKind.SWATH, speed_mps=2.5, sections=1, swath=1,
                     direction=-1)
    path = np.concatenate([swath[:-1], turn[:-1], back])
    path["z"] = 2.5
    return Plan(path, frame=frame, boundary=FIELD, field_name="F", width_m=6.0, turn_radius_m=3.0,
                implement="sprayer", params={"width_m": 6.0}, sorties=(Sortie(0, 5, (0.0, -5.0), 12.5, 80.0),),
                meta={"angle_deg": 0.0})


def test_metrics_follow_the_samples():
    m = sample_plan().metrics
    assert m.working_length_m == pytest.approx(100.0)
    assert m.turn_length_m == pytest.approx(3 * math.pi, rel=0.02)
    assert m.n_swaths == 2 and m.n_turns == 1
    assert m.reverse_length_m == pytest.approx(50.0)
    assert m.duration_s == pytest.approx(100 / 2.5 + m.turn_length_m / 1.5, rel=1e-6)


def test_segments_cover_the_path_without_gaps():
    plan = sample_plan()
    segs = list(plan.segments())
    assert [s.kind for s in segs] == [SegmentKind.SWATH, SegmentKind.TURN, SegmentKind.SWATH]
    assert segs[0].start == 0 and segs[-1].stop == len(plan) and segs[0].stop == segs[1].start


@pytest.mark.parametrize("suffix", [".geojson", ".msgpack"])
def test_plan_files_round_trip(tmp_path, suffix):
    plan = sample_plan()
    target = tmp_path / f"p{suffix}"
    write_plans([plan, plan.with_(field_name="G")], target)
    back = read_plans(target)
    assert [p.field_name for p in back] == ["F", "G"]
    b = back[0]
    assert np.allclose(b.xy, plan.xy, atol=1e-6)
    for name in ("heading", "speed", "z"):
        assert np.allclose(b.path[name], plan.path[name], atol=1e-6)
    for name in ("kind", "direction", "sections", "swath"):
        assert np.array_equal(b.path[name], plan.path[name])
    assert b.frame == plan.frame and b.sorties == plan.sorties and b.meta == plan.meta
    assert b.boundary.symmetric_difference(plan.boundary).area < 1e-6
    assert b.metrics.working_length_m == pytest.approx(plan.metrics.working_length_m)


def test_geojson_is_wgs84_lines_with_kind_and_implement_state():
    doc = plans_to_geojson([sample_plan()])
    lines = [f for f in doc["features"] if f["geometry"]["type"] == "LineString"]
    lon, lat = lines[0]["geometry"]["coordinates"][0][:2]
    assert lon == pytest.approx(121.5, abs=0.01) and lat == pytest.approx(31.2, abs=0.01)
    assert [(f["properties"]["kind"], f["properties"]["implement"]) for f in lines] == [
        ("swath", True), ("turn", False), ("swath", True)]


def test_gcj02_output_reads_back_to_the_same_plan():
    doc = json.loads(json.dumps(plans_to_geojson([sample_plan()], out_crs="gcj02")))
    assert doc["agrifleet"]["crs"] == "gcj02"
    assert np.allclose(plans_from_geojson(doc)[0].xy, sample_plan().xy, atol=1e-4)


def test_local_plans_stay_in_metres():
    doc = plans_to_geojson([sample_plan(frame=None)])
    assert doc["features"][1]["geometry"]["coordinates"][0][:2] == [0.0, 0.0]


def test_bad_plan_files_are_named(tmp_path):
    cases = {"empty.geojson": "", "field.geojson": json.dumps({"type": "FeatureCollection", "features": []}),
             "junk.msgpack": "\x93\x01"}
    for name, content in cases.items():
        (tmp_path / name).write_text(content)
        with pytest.raises(PlanError, match=name):
            read_plans(tmp_path / name)
    with pytest.raises(PlanError, match="unknown segment kind"):
        Plan(np.zeros(3, dtype=PATH_DTYPE))


def test_slice_keeps_sorties_in_range():
    plan = sample_plan()
    tail = plan.slice(3, len(plan))
    assert len(tail) == len(plan) - 3 and tail.sorties == (Sortie(0, 2, (0.0, -5.0), 12.5, 80.0),)


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=0, max_size=50),
       st.sampled_from(["<f8", "<f4", "<i4", "u1"]))
@settings(max_examples=50)
def test_codec_round_trips_arrays(values, dtype):
    arr = np.asarray(values).astype(dtype)
    back = unpackb(packb({"a": arr, "n": 3, "s": "x"}))
    assert back["n"] == 3 and back["a"].dtype == arr.dtype and np.array_equal(back["a"], arr)


@given(st.binary(max_size=200))
@settings(max_examples=200)
def test_codec_never_raises_anything_but_codec_error(data):
    try:
        unpackb(data)
    except CodecError:
        pass
