"""Field readers: every format, every coordinate system, and one clear error per kind of bad input."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapefile

from agrifleet.core.errors import FieldError
from agrifleet.core.field_files import load_fields
from agrifleet.core.geo import LocalFrame, wgs84_to_bd09, wgs84_to_gcj02

FRAME = LocalFrame(lat0_deg=44.72, lon0_deg=11.31)
SQUARE = np.array([[0, 0], [200, 0], [200, 100], [0, 100]], dtype=float)
HOLE = np.array([[80, 40], [100, 40], [100, 60], [80, 60]], dtype=float)


def lonlat(ring: np.ndarray) -> list[list[float]]:
    ll = FRAME.to_wgs84(ring)
    return np.vstack([ll, ll[:1]]).tolist()


def closed(ring: np.ndarray) -> list[list[float]]:
    return np.vstack([ring, ring[:1]]).tolist()


def write(tmp_path: Path, name: str, content) -> Path:
    p = tmp_path / name
    p.write_text(content if isinstance(content, str) else json.dumps(content))
    return p


def feature(rings, **props):
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": rings}}


def test_geojson_wgs84_with_hole_becomes_local_field(tmp_path):
    path = write(tmp_path, "f.geojson", {"type": "FeatureCollection", "features": [
        feature([lonlat(SQUARE), lonlat(HOLE[::-1])], name="North")]})
    [f] = load_fields(path)
    assert f.name == "North"
    assert f.frame is not None and f.properties["crs"] == "wgs84"
    assert f.area_m2 == pytest.approx(200 * 100 - 20 * 20, rel=1e-6)
    assert len(f.obstacles) == 1 and f.obstacles[0].area == pytest.approx(400, rel=1e-6)


def test_local_metres_are_kept_and_detected(tmp_path):
    path = write(tmp_path, "f.geojson", feature([closed(SQUARE)]))
    [f] = load_fields(path)
    assert f.frame is None and f.properties["crs"] == "local"
    assert f.boundary.bounds == pytest.approx((0, 0, 200, 100))


@pytest.mark.parametrize("crs,convert", [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_chinese_web_map_coordinates_are_converted(tmp_path, crs, convert):
    frame = LocalFrame(lat0_deg=31.2, lon0_deg=121.5)
    wgs = frame.to_wgs84(SQUARE)
    shifted = convert(wgs)
    path = write(tmp_path, "f.geojson", feature([np.vstack([shifted, shifted[:1]]).tolist()]))
    [f] = load_fields(path, crs=crs)
    [plain] = load_fields(write(tmp_path, "g.geojson", feature([np.vstack([wgs, wgs[:1]]).tolist()])))
    # same field after conversion: the datum offset (hundreds of metres) is gone
    assert f.boundary.symmetric_difference(plain.boundary).area < 1.0
    [raw] = load_fields(path, crs="wgs84")
    assert raw.frame.to_wgs84(np.array([[0.0, 0.0]]))[0] != pytest.approx(plain.frame.to_wgs84(np.array([[0.0, 0.0]]))[0])


def test_multipolygon_plans_each_part(tmp_path):
    other = SQUARE + [400, 0]
    path = write(tmp_path, "m.geojson", {"type": "Feature", "properties": {"name": "Two"}, "geometry": {
        "type": "MultiPolygon", "coordinates": [[lonlat(SQUARE)], [lonlat(other)]]}})
    fields = load_fields(path)
    assert [f.name for f in fields] == ["Two/0", "Two/1"]
    assert fields[0].frame == fields[1].frame


def test_obstacle_and_zone_features_attach_to_their_field(tmp_path):
    zone = np.array([[150, 60], [190, 60], [190, 90], [150, 90]], float)
    path = write(tmp_path, "f.geojson", {"type": "FeatureCollection", "features": [
        feature([closed(SQUARE)], name="F"),
        feature([closed(HOLE)], name="pylon", role="obstacle"),
        feature([closed(zone)], name="wet", role="zone", unsuitable_for="ground")]})
    [f] = load_fields(path, crs="local")
    assert len(f.obstacles) == 1
    assert [z.name for z in f.zones] == ["wet"] and f.zones[0].tags["unsuitable_for"] == "ground"


def test_kml_with_mixed_2d_3d_coordinates_keeps_the_polygon(tmp_path):
    ll = FRAME.to_wgs84(SQUARE)
    coords = " ".join(f"{lo},{la}" + (",0" if i % 2 else "") for i, (lo, la) in enumerate(ll))
    hole = " ".join(f"{lo},{la},0" for lo, la in FRAME.to_wgs84(HOLE))
    kml = f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Folder><Placemark><name>K</name><Polygon>
<outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates></LinearRing></outerBoundaryIs>
<innerBoundaryIs><LinearRing><coordinates>{hole}</coordinates></LinearRing></innerBoundaryIs>
</Polygon></Placemark></Folder></Document></kml>"""
    [f] = load_fields(write(tmp_path, "f.kml", kml))
    assert f.name == "K" and len(f.obstacles) == 1
    assert f.area_m2 == pytest.approx(19600, rel=1e-6)


def test_wkt_lines(tmp_path):
    text = "# two fields\nPOLYGON ((0 0, 200 0, 200 100, 0 100, 0 0), (80 40, 100 40, 100 60, 80 60, 80 40))\n" \
           "POLYGON ((300 0, 400 0, 400 50, 300 0))\n"
    fields = load_fields(write(tmp_path, "f.wkt", text))
    assert len(fields) == 2 and len(fields[0].obstacles) == 1


def test_shapefile_rings_and_prj_projection(tmp_path):
    base = tmp_path / "f"
    with shapefile.Writer(str(base), shapeType=shapefile.POLYGON) as w:
        w.field("name", "C")
        outer = (SQUARE + [500000.0, 4950000.0]).tolist()
        hole = (HOLE + [500000.0, 4950000.0]).tolist()
        w.poly([outer[::-1] + [outer[-1]], hole + [hole[0]]])  # clockwise outer, counter-clockwise hole
        w.record("Shp")
    (tmp_path / "f.prj").write_text(
        'PROJCS["WGS 84 / UTM zone 32N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
        'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
        'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",9],PARAMETER["scale_factor",0.9996],'
        'PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1]]')
    [f] = load_fields(str(base) + ".shp")
    assert f.name == "Shp" and f.frame is not None
    # UTM scale factor 0.9996 near the central meridian: the local frame measures true ground area
    assert f.area_m2 == pytest.approx(19600 / 0.9996 ** 2, rel=2e-3)


BAD = {
    "self-intersection": (feature([[[0, 0], [200, 100], [200, 0], [0, 100], [0, 0]]]), "crosses itself"),
    "too few points": (feature([[[0, 0], [200, 0], [0, 0], [200, 0]]]), "distinct points"),
    "zero area": (feature([[[0, 0], [100, 0], [200, 0], [0, 0]]]), "zero area|crosses itself"),
    "nan": (feature([[[0, 0], [200, "x"], [200, 100], [0, 0]]]), "not numbers"),
    "hole outside": (feature([closed(SQUARE), closed(HOLE + [500, 0])]), "hole 1 is not inside"),
    "overlapping holes": (feature([closed(SQUARE), closed(HOLE), closed(HOLE + [5, 5])]), "overlap"),
    "unsupported": ({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
                    "unsupported geometry type 'LineString'"),
    "empty collection": ({"type": "FeatureCollection", "features": []}, "no features"),
    "no geometry": ({"type": "Feature", "properties": {"name": "X"}, "geometry": None}, "'X'.*no geometry"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_geojson_names_the_problem(tmp_path, case):
    doc, pattern = BAD[case]
    path = write(tmp_path, "bad.geojson", doc)
    with pytest.raises(FieldError, match=pattern) as info:
        load_fields(path, crs="local")
    assert str(path) in str(info.value)


def test_lat_out_of_range_and_swapped_axes(tmp_path):
    ll = np.array(lonlat(SQUARE))
    bad = ll.copy()
    bad[2, 1] = 95.0
    with pytest.raises(FieldError, match="point 2 has latitude 95"):
        load_fields(write(tmp_path, "a.geojson", feature([bad.tolist()])))
    china = np.array([[121.5, 31.2], [121.51, 31.2], [121.51, 31.21], [121.5, 31.21], [121.5, 31.2]])
    with pytest.raises(FieldError, match="probably swapped"):
        load_fields(write(tmp_path, "b.geojson", feature([china[:, ::-1].tolist()])), crs="wgs84")


def test_file_level_errors(tmp_path):
    cases = {
        "empty.geojson": ("", "file is empty"),
        "syntax.geojson": ('{"type": "Feature",\n "geometry": [}', "line 2 column"),
        "binary.geojson": (None, "not UTF-8"),
        "x.dxf": ("0\nSECTION", "unsupported file type '.dxf'"),
        "bad.kml": ("<kml><Placemark>", "not valid XML"),
        "bad.wkt": ("POLYGON ((0 0, 1 1", "line 1: not valid WKT"),
    }
    for name, (content, pattern) in cases.items():
        p = tmp_path / name
        if content is None:
            p.write_bytes(b"\xff\xfe\x00bad")
        else:
            p.write_text(content)
        with pytest.raises(FieldError, match=pattern):
            load_fields(p)
    with pytest.raises(FieldError, match="no such file"):
        load_fields(tmp_path / "missing.geojson")
    with pytest.raises(FieldError, match="is a directory"):
        (tmp_path / "d.geojson").mkdir()
        load_fields(tmp_path / "d.geojson")
